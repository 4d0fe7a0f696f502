/**
 * Pixel F-beta of a probability map against ink labels at many thresholds in
 * one streamed pass: the seed's smoothed validation score
 * (`externals/metrics.py`, `fbeta_numpy` and `calc_fbeta`) and the plain
 * scikit-learn `fbeta_score`.
 *
 * A pixel is predicted ink when `prob >= threshold`, compared exactly as
 * doubles (NaN never is), as NumPy compares the seed's float64 map. (NumPy
 * compares a float32 array with a Python float in float32, so it counts a
 * probability equal to `float32(0.35)`, which is below 0.35, at 0.35; this
 * module does not.) Each
 * pixel falls into one bin of a histogram by how many thresholds it
 * reaches, one histogram for ink and one for the rest, so memory does not
 * grow with the image.
 *
 * @module
 */

/**
 * The seed's validation thresholds 0.10, 0.15, ..., 1.00 (19 values, the
 * same doubles as NumPy's `np.array(range(10, 101, 5)) / 100`).
 */
export const SEED_THRESHOLDS: readonly number[] = Object.freeze(
  Array.from({ length: 19 }, (_, i) => Math.round((0.1 + 0.05 * i) * 100) / 100),
);

/** Pixel counts at one threshold; "positive" means ink. */
export interface Confusion {
  threshold: number;
  /** Ink predicted as ink. */
  tp: number;
  /** Non-ink predicted as ink. */
  fp: number;
  /** Ink predicted as non-ink. */
  fn: number;
  /** Non-ink predicted as non-ink. */
  tn: number;
}

/**
 * Counts true and false positives for every threshold at once, over bands
 * pushed in any order.
 *
 * The seed counts every pixel of the padded fragment; pass a mask to count
 * only the pixels where it is non-zero.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConfusionCounter } from "./metrics.ts";
 * const counter = new ConfusionCounter([0.5]);
 * counter.push(new Float32Array([0.9, 0.4, 0.6]), new Uint8Array([1, 1, 0]));
 * const [c] = counter.counts();
 * assert(c.tp === 1 && c.fn === 1 && c.fp === 1 && c.tn === 0);
 * ```
 */
export class ConfusionCounter {
  /** The thresholds, ascending. */
  readonly thresholds: readonly number[];
  #ink: Float64Array;
  #rest: Float64Array;
  #t: Float64Array;
  /** Per bucket of the thresholds' span, how many thresholds lie below it. */
  #start: Uint32Array;
  #scale: number;

  /** Counts at `thresholds` (ascending; by default {@linkcode SEED_THRESHOLDS}). */
  constructor(thresholds: readonly number[] = SEED_THRESHOLDS) {
    if (thresholds.some((t, i) => !Number.isFinite(t) || (i > 0 && t <= thresholds[i - 1]))) {
      throw new RangeError(
        `ConfusionCounter: thresholds must be finite and ascend, got ${thresholds}`,
      );
    }
    this.thresholds = [...thresholds];
    this.#t = Float64Array.from(thresholds);
    const buckets = 1024;
    const span = thresholds.length > 1 ? thresholds.at(-1)! - thresholds[0] : 1;
    this.#scale = buckets / span;
    this.#start = new Uint32Array(buckets + 1);
    for (let b = 0, k = 0; b <= buckets; b++) {
      // Thresholds below the previous bucket's start: safe whatever the rounding of p's bucket.
      while (k < thresholds.length && thresholds[k] < thresholds[0] + (b - 1) / this.#scale) k++;
      this.#start[b] = k;
    }
    this.#ink = new Float64Array(thresholds.length + 1);
    this.#rest = new Float64Array(thresholds.length + 1);
  }

  /**
   * Adds pixels: probabilities, labels (non-zero is ink) and optionally a
   * mask (only non-zero pixels count), all of the same length.
   */
  push(probs: Float32Array | Float64Array, labels: Uint8Array, mask?: Uint8Array): void {
    if (labels.length !== probs.length || (mask && mask.length !== probs.length)) {
      throw new RangeError(
        `ConfusionCounter.push: ${probs.length} probabilities, ${labels.length} labels` +
          (mask ? `, ${mask.length} mask values` : ""),
      );
    }
    const [t, start, lo, scale] = [this.#t, this.#start, this.#t[0], this.#scale];
    const [ink, rest, n] = [this.#ink, this.#rest, this.#t.length];
    for (let i = 0; i < probs.length; i++) {
      if (mask && mask[i] === 0) continue;
      const p = probs[i];
      let k = 0;
      if (p >= lo) {
        // Start from a lower bound of the count in p's bucket, then step up.
        k = start[Math.min(Math.floor((p - lo) * scale), start.length - 1)];
        while (k < n && p >= t[k]) k++;
      }
      if (labels[i] !== 0) ink[k]++;
      else rest[k]++;
    }
  }

  /** The counts at each threshold. */
  counts(): Confusion[] {
    const [ink, rest] = [this.#ink, this.#rest];
    const positives = ink.reduce((a, b) => a + b, 0);
    const negatives = rest.reduce((a, b) => a + b, 0);
    let tp = 0;
    let fp = 0;
    const out: Confusion[] = [];
    for (let j = this.thresholds.length - 1; j >= 0; j--) {
      tp += ink[j + 1];
      fp += rest[j + 1];
      out.push({ threshold: this.thresholds[j], tp, fp, fn: positives - tp, tn: negatives - fp });
    }
    return out.reverse();
  }
}

/** An F-beta score with its precision and recall. */
export interface Fbeta {
  f: number;
  precision: number;
  recall: number;
}

/**
 * The seed's smoothed score (`fbeta_numpy`, smooth 1e-5):
 * P = tp / (tp + fp + 1e-5), R = tp / (tp + fn + 1e-5),
 * F = (1 + beta²) P R / (beta² P + R + 1e-5). The same doubles as NumPy.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { seedFbeta } from "./metrics.ts";
 * const { f } = seedFbeta({ threshold: 0.5, tp: 3, fp: 1, fn: 2, tn: 10 });
 * assert(Math.abs(f - 0.7142) < 1e-3);
 * ```
 */
export function seedFbeta(c: Confusion, beta = 0.5): Fbeta {
  const smooth = 1e-5;
  const b2 = beta * beta;
  const precision = c.tp / (c.tp + c.fp + smooth);
  const recall = c.tp / (c.tp + c.fn + smooth);
  const f = (1 + b2) * (precision * recall) / (b2 * precision + recall + smooth);
  return { f, precision, recall };
}

/**
 * scikit-learn's `fbeta_score` (1.2, binary, `zero_division=0`, which is
 * also what its default "warn" returns): precision or recall is 0 where its
 * denominator is, and F is 0 where both are. The same doubles as sklearn.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { sklearnFbeta } from "./metrics.ts";
 * const { f } = sklearnFbeta({ threshold: 0.5, tp: 3, fp: 1, fn: 2, tn: 10 });
 * assert(Math.abs(f - 5 / 7) < 1e-12);
 * ```
 */
export function sklearnFbeta(c: Confusion, beta = 0.5): Fbeta {
  const b2 = beta * beta;
  const precision = c.tp + c.fp === 0 ? 0 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const denom = b2 * precision + recall;
  const f = (1 + b2) * precision * recall / (denom === 0 ? 1 : denom);
  return { f, precision, recall };
}

/**
 * The seed's choice of threshold (`calc_fbeta`): the first threshold whose
 * score beats every earlier one, starting from threshold 0 and score 0 (so
 * all-zero scores give threshold 0).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bestThreshold, ConfusionCounter } from "./metrics.ts";
 * const counter = new ConfusionCounter();
 * counter.push(new Float32Array([0.9, 0.3, 0.2]), new Uint8Array([1, 1, 0]));
 * const best = bestThreshold(counter.counts());
 * assert(best.threshold === 0.25);
 * ```
 */
export function bestThreshold(
  counts: readonly Confusion[],
  score: (c: Confusion) => Fbeta = seedFbeta,
): { threshold: number; f: number } {
  let best = { threshold: 0, f: 0 };
  for (const c of counts) {
    const { f } = score(c);
    if (f > best.f) best = { threshold: c.threshold, f };
  }
  return best;
}
