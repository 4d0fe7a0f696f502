/**
 * The one comparison helper every kernel test uses: an element passes when
 * `|actual - expected| <= atol + rtol * |expected|` (llm.c's magnitude-aware
 * tolerance), and a failure names the worst element.
 *
 * @module
 */

/** Tolerances for {@linkcode compareArrays}. */
export interface Tolerance {
  /** Absolute part (default 1e-5). */
  atol?: number;
  /** Relative part, scaled by |expected| (default 1e-4). */
  rtol?: number;
}

/** What {@linkcode compareArrays} found. */
export interface Comparison {
  ok: boolean;
  /** Number of elements over tolerance. */
  failures: number;
  /** Index and values of the element furthest over its tolerance. */
  worst: { index: number; actual: number; expected: number; excess: number };
  maxAbsError: number;
  /** ||actual - expected||_2 / ||expected||_2 (0 when both are zero). */
  relL2: number;
}

/** Compares two arrays element by element. */
export function compareArrays(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = {},
): Comparison {
  if (actual.length !== expected.length) {
    throw new Error(`Length mismatch: actual ${actual.length}, expected ${expected.length}`);
  }
  const atol = tol.atol ?? 1e-5;
  const rtol = tol.rtol ?? 1e-4;
  let failures = 0;
  let maxAbs = 0;
  let num = 0;
  let den = 0;
  const worst = { index: -1, actual: 0, expected: 0, excess: -Infinity };
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    const err = Math.abs(a - e);
    const excess = Number.isNaN(err) ? Infinity : err - (atol + rtol * Math.abs(e));
    if (excess > 0 || (Number.isNaN(a) !== Number.isNaN(e))) failures++;
    if (excess > worst.excess) Object.assign(worst, { index: i, actual: a, expected: e, excess });
    if (err > maxAbs) maxAbs = err;
    num += (a - e) * (a - e);
    den += e * e;
  }
  const relL2 = den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
  return { ok: failures === 0, failures, worst, maxAbsError: maxAbs, relL2 };
}

/**
 * Throws when any element is outside tolerance.
 *
 * @example
 * ```ts
 * import { assertClose } from "./compare.ts";
 * assertClose([1, 2.00001], [1, 2], { rtol: 1e-4 });
 * ```
 */
export function assertClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tol: Tolerance = {},
  what = "values",
): Comparison {
  const c = compareArrays(actual, expected, tol);
  if (!c.ok) {
    const w = c.worst;
    throw new Error(
      `${what}: ${c.failures} of ${expected.length} elements over tolerance ` +
        `(atol ${tol.atol ?? 1e-5}, rtol ${tol.rtol ?? 1e-4}); worst at ${w.index}: ` +
        `actual ${w.actual}, expected ${w.expected}; max abs error ${c.maxAbsError}, rel L2 ${c.relL2}`,
    );
  }
  return c;
}
