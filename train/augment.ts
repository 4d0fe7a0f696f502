/**
 * The seed's training augmentations (seed-spec 4): the probabilities, the
 * per-tile draw ({@linkcode sampleAugment}, in albumentations 1.3's order
 * and ranges) and the GPU application ({@linkcode recordAugment}, from
 * `kernels/augment`). Validation and inference use no augmentation.
 *
 * Draws come from our {@linkcode Rng}, not Python's, so a run reproduces
 * the seed's distribution of augmentations, not its exact sequence. As in
 * albumentations, every transform's `random() < p` test is drawn, even when
 * its probability is 0 or 1.
 *
 * @example
 * ```ts ignore
 * const rng = new Rng(42);
 * const params = sampleAugmentBatch(rng, SEED_AUGMENT, batch, tile, depth);
 * const out = recordAugment(gpu, rec, tiles, labels, params);
 * ```
 *
 * @module
 */

import {
  type AugmentParams,
  gaussianKernel,
  GRID_STEPS,
  identityParams,
  motionKernel,
  shiftScaleRotateMatrix,
} from "../kernels/augment/params.ts";
import type { Rng } from "./rng.ts";

export {
  type AugmentParams,
  identityParams,
  type NoiseBlurParams,
  recordAugment,
  type ShiftScaleRotateParams,
} from "../kernels/augment/mod.ts";

/** The probability of each of the seed's transforms (each in 0..1). */
export interface AugmentConfig {
  /** HorizontalFlip. */
  hflip: number;
  /** VerticalFlip. */
  vflip: number;
  /** RandomRotate90 (k uniform in 0..3 when it fires, so k = 0 is possible). */
  rot90: number;
  /** RandomBrightnessContrast (alpha in 1 +- 0.2, beta in +-0.2). */
  brightnessContrast: number;
  /** ChannelDropout (1 or 2 depth slices zeroed). */
  channelDropout: number;
  /** ShiftScaleRotate (shift +-0.0625, scale 1 +- 0.1, rotate +-45 degrees). */
  shiftScaleRotate: number;
  /** OneOf(GaussNoise, GaussianBlur, MotionBlur), the choice uniform. */
  noiseBlur: number;
  /** GridDistortion (5 steps, distort limit 0.3). */
  gridDistortion: number;
  /** CoarseDropout (one int(0.05 T) square hole, image and label 0). */
  coarseDropout: number;
}

/** The seed's probabilities (seed-spec 4). */
export const SEED_AUGMENT: Readonly<AugmentConfig> = Object.freeze({
  hflip: 0.5,
  vflip: 0.5,
  rot90: 0.5,
  brightnessContrast: 0.25,
  channelDropout: 0.25,
  shiftScaleRotate: 0.25,
  noiseBlur: 0.25,
  gridDistortion: 0.25,
  coarseDropout: 0.25,
});

/** No augmentation (every probability 0). */
export const NO_AUGMENT: Readonly<AugmentConfig> = Object.freeze({
  hflip: 0,
  vflip: 0,
  rot90: 0,
  brightnessContrast: 0,
  channelDropout: 0,
  shiftScaleRotate: 0,
  noiseBlur: 0,
  gridDistortion: 0,
  coarseDropout: 0,
});

/** `random.sample(range(n), k)`: k distinct integers of 0..n-1 (partial Fisher-Yates). */
function sampleDistinct(rng: Rng, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    [pool[i], pool[j]] = [pool[j], pool[i]];
    out.push(pool[i]);
  }
  return out;
}

/**
 * Draws one tile's augmentation for a `tile` x `tile` tile of `depth`
 * slices, in the seed's order: for each transform, `rng.next() < p`, then
 * (when it fires) its parameters as albumentations 1.3 draws them:
 *
 * - RandomRotate90: k = randint(0, 3);
 * - RandomBrightnessContrast: alpha = 1 + U(-0.2, 0.2), then beta = U(-0.2, 0.2);
 * - ChannelDropout: randint(1, 2) slices, `random.sample` of 0..depth-1;
 * - ShiftScaleRotate: angle U(-45, 45), scale U(0.9, 1.1), dx, dy U(-0.0625, 0.0625);
 * - OneOf: uniform choice; GaussNoise: variance U(10, 50) and a 32-bit noise
 *   seed; GaussianBlur: ksize = randrange(3, 8), an even one becomes
 *   (ksize + 1) % 8 (so 3, 5, 5, 7, 7), sigma 0; MotionBlur: ksize from
 *   {3, 5, 7}, a line between two random points of the kernel (distinct
 *   rows when the columns coincide), allow_shifted;
 * - GridDistortion: 6 x steps then 6 y steps, each 1 + U(-0.3, 0.3);
 * - CoarseDropout: an int(0.05 * tile) square hole, top row then left
 *   column uniform so that it fits.
 *
 * @throws {Error} When channel dropout can fire on a tile of 2 or fewer
 * slices (albumentations refuses to drop every channel).
 */
export function sampleAugment(
  rng: Rng,
  config: Readonly<AugmentConfig>,
  tile: number,
  depth: number,
): AugmentParams {
  const p = identityParams();
  const fires = (prob: number) => rng.next() < prob;
  if (fires(config.hflip)) p.hflip = true;
  if (fires(config.vflip)) p.vflip = true;
  if (fires(config.rot90)) p.rot90 = rng.int(4);
  if (fires(config.brightnessContrast)) {
    const alpha = 1 + rng.uniform(-0.2, 0.2);
    const beta = rng.uniform(-0.2, 0.2);
    p.brightnessContrast = { alpha, beta };
  }
  if (fires(config.channelDropout)) {
    if (depth <= 2) {
      throw new Error(`augment: channel dropout of up to 2 slices needs depth > 2, got ${depth}`);
    }
    p.channelDropout = sampleDistinct(rng, depth, 1 + rng.int(2));
  }
  if (fires(config.shiftScaleRotate)) {
    const angle = rng.uniform(-45, 45);
    const scale = rng.uniform(0.9, 1.1);
    const dx = rng.uniform(-0.0625, 0.0625);
    const dy = rng.uniform(-0.0625, 0.0625);
    const matrix = shiftScaleRotateMatrix(angle, scale, dx, dy, tile);
    p.shiftScaleRotate = { angle, scale, dx, dy, matrix };
  }
  if (fires(config.noiseBlur)) {
    const which = rng.int(3);
    if (which === 0) {
      const variance = rng.uniform(10, 50);
      p.noiseBlur = { kind: "gaussNoise", variance, seed: rng.u32() };
    } else if (which === 1) {
      let ksize = 3 + rng.int(5);
      if (ksize % 2 !== 1) ksize = (ksize + 1) % 8;
      p.noiseBlur = { kind: "gaussianBlur", ksize, kernel: gaussianKernel(ksize) };
    } else {
      const ksize = [3, 5, 7][rng.int(3)];
      const x1 = rng.int(ksize);
      const x2 = rng.int(ksize);
      const [y1, y2] = x1 === x2 ? sampleDistinct(rng, ksize, 2) : [rng.int(ksize), rng.int(ksize)];
      p.noiseBlur = {
        kind: "motionBlur",
        ksize,
        line: [x1, y1, x2, y2],
        kernel: motionKernel(ksize, x1, y1, x2, y2),
      };
    }
  }
  if (fires(config.gridDistortion)) {
    const steps = () => Array.from({ length: GRID_STEPS + 1 }, () => 1 + rng.uniform(-0.3, 0.3));
    const stepsX = steps();
    const stepsY = steps();
    p.gridDistortion = { stepsX, stepsY };
  }
  if (fires(config.coarseDropout)) {
    const size = Math.trunc(tile * 0.05);
    const y = rng.int(tile - size + 1);
    const x = rng.int(tile - size + 1);
    p.coarseDropout = { x, y, width: size, height: size };
  }
  return p;
}

/** {@linkcode sampleAugment} for each of `batch` tiles, in order. */
export function sampleAugmentBatch(
  rng: Rng,
  config: Readonly<AugmentConfig>,
  batch: number,
  tile: number,
  depth: number,
): AugmentParams[] {
  return Array.from({ length: batch }, () => sampleAugment(rng, config, tile, depth));
}
