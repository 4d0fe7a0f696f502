/**
 * What the seed's training augmentations (albumentations 1.3, seed-spec 4)
 * drew for one tile, and the pure helpers that turn drawn numbers into what
 * OpenCV would use: the shift-scale-rotate matrix, grid-distortion maps, the
 * fixed small Gaussian kernels and the motion-blur line kernel. Shared by
 * the GPU launcher ({@linkcode ./mod.ts}), the TypeScript reference
 * ({@linkcode ./ref.ts}) and the sampler in `train/augment.ts`.
 *
 * Coordinates follow OpenCV: x is the column, y the row, (0, 0) the centre
 * of the top-left pixel.
 *
 * @module
 */

/** The image-only filter of the seed's `OneOf` (GaussNoise, GaussianBlur, MotionBlur). */
export type NoiseBlurParams =
  | {
    kind: "gaussNoise";
    /** Variance in uint8 units (10..50); the noise sigma on [0, 1] images is sqrt(variance) / 255. */
    variance: number;
    /** Per-tile seed (a 32-bit unsigned integer) of the counter-based noise hash. */
    seed: number;
  }
  | {
    kind: "gaussianBlur";
    /** Odd kernel size 3..7. */
    ksize: number;
    /** ksize * ksize weights, row-major (the outer product of OpenCV's fixed sigma-0 kernel). */
    kernel: number[];
  }
  | {
    kind: "motionBlur";
    ksize: number;
    /** The drawn line (x1, y1, x2, y2) inside the ksize x ksize kernel. */
    line: [number, number, number, number];
    /** ksize * ksize weights, row-major: the rasterised line, normalised to sum 1. */
    kernel: number[];
  };

/** The seed's ShiftScaleRotate draw and the matrix OpenCV builds from it. */
export interface ShiftScaleRotateParams {
  /** Degrees, counter-clockwise on screen (OpenCV's sign), in -45..45. */
  angle: number;
  /** In 0.9..1.1. */
  scale: number;
  /** Shifts as fractions of the width and height, in -0.0625..0.0625. */
  dx: number;
  dy: number;
  /**
   * The forward 2x3 matrix, row-major `[a, b, c, d, e, f]`: source (x, y)
   * goes to (a x + b y + c, d x + e y + f), as `cv2.getRotationMatrix2D`
   * about (T/2, T/2) plus the shift (albumentations 1.3 `shift_scale_rotate`).
   */
  matrix: number[];
}

/** Everything drawn for ONE tile; a field that is null / false / empty means "not applied". */
export interface AugmentParams {
  /** HorizontalFlip: mirror the columns. */
  hflip: boolean;
  /** VerticalFlip: mirror the rows. */
  vflip: boolean;
  /** RandomRotate90: counter-clockwise quarter turns `np.rot90(img, k)`, 0..3 (0 also when not applied). */
  rot90: number;
  /** RandomBrightnessContrast: v * alpha + beta, clipped to [0, 1], same for every depth slice. */
  brightnessContrast: { alpha: number; beta: number } | null;
  /** ChannelDropout: the depth slices set to 0 (one or two of them; empty when not applied). */
  channelDropout: number[];
  /** ShiftScaleRotate (image bilinear, label nearest, both BORDER_REFLECT_101). */
  shiftScaleRotate: ShiftScaleRotateParams | null;
  /** OneOf(GaussNoise, GaussianBlur, MotionBlur), image only, clipped to [0, 1]. */
  noiseBlur: NoiseBlurParams | null;
  /** GridDistortion with 5 steps: the 6 x and 6 y step factors, each in 1 +- 0.3. */
  gridDistortion: { stepsX: number[]; stepsY: number[] } | null;
  /** CoarseDropout: one hole (columns x..x+width-1, rows y..y+height-1) set to 0 in image and label. */
  coarseDropout: { x: number; y: number; width: number; height: number } | null;
}

/** GridDistortion's `num_steps` in the seed (the albumentations default). */
export const GRID_STEPS = 5;

/** Params that change nothing (every transform off). */
export function identityParams(): AugmentParams {
  return {
    hflip: false,
    vflip: false,
    rot90: 0,
    brightnessContrast: null,
    channelDropout: [],
    shiftScaleRotate: null,
    noiseBlur: null,
    gridDistortion: null,
    coarseDropout: null,
  };
}

/**
 * The forward matrix of albumentations 1.3 `shift_scale_rotate` on a
 * `size` x `size` tile: `cv2.getRotationMatrix2D((size / 2, size / 2), angle,
 * scale)` with `dx * size`, `dy * size` added to the translation.
 */
export function shiftScaleRotateMatrix(
  angle: number,
  scale: number,
  dx: number,
  dy: number,
  size: number,
): number[] {
  const rad = (angle * Math.PI) / 180;
  const a = Math.cos(rad) * scale;
  const b = Math.sin(rad) * scale;
  const cx = size / 2;
  const cy = size / 2;
  return [a, b, (1 - a) * cx - b * cy + dx * size, -b, a, b * cx + (1 - a) * cy + dy * size];
}

/** The inverse of a 2x3 affine matrix, as `cv2.invertAffineTransform` (0 for a singular one). */
export function invertAffine(m: readonly number[]): number[] {
  const [a, b, c, d, e, f] = m;
  let det = a * e - b * d;
  det = det !== 0 ? 1 / det : 0;
  const ia = e * det;
  const ie = a * det;
  const ib = -b * det;
  const id = -d * det;
  return [ia, ib, -ia * c - ib * f, id, ie, -id * c - ie * f];
}

/**
 * One axis of albumentations 1.3 `grid_distortion`'s sampling map (float32,
 * as numpy builds it): `size // numSteps` pixels per step, each step's
 * segment a `np.linspace` from the previous end to `prev + step * steps[i]`,
 * and the last partial step ending exactly at `size` (so the last pixel
 * samples at `size`, reflected to `size - 2`: the library's behaviour, kept).
 */
export function gridMap(
  steps: readonly number[],
  size: number,
  numSteps = GRID_STEPS,
): Float32Array {
  if (steps.length !== numSteps + 1) {
    throw new Error(`augment: grid distortion needs ${numSteps + 1} steps, got ${steps.length}`);
  }
  const step = Math.floor(size / numSteps);
  const out = new Float32Array(size);
  let prev = 0;
  for (let idx = 0; idx <= numSteps; idx++) {
    const start = idx * step;
    let end = start + step;
    let cur: number;
    if (end > size) {
      end = size;
      cur = size;
    } else {
      cur = prev + step * steps[idx];
    }
    // np.linspace(prev, cur, n): j * ((cur - prev) / (n - 1)) + prev, the last exactly cur.
    const n = end - start;
    const delta = (cur - prev) / (n - 1);
    for (let j = 0; j < n; j++) {
      out[start + j] = n > 1 && j === n - 1 ? cur : j * (n > 1 ? delta : 0) + prev;
    }
    prev = cur;
  }
  return out;
}

/**
 * OpenCV's fixed Gaussian kernel for `sigma = 0` and odd `ksize <= 7`
 * (`cv2.getGaussianKernel`'s small table; what `GaussianBlur(ksize, sigmaX=0)`
 * uses), as a ksize x ksize row-major outer product.
 */
export function gaussianKernel(ksize: number): number[] {
  const tables: Record<number, number[]> = {
    1: [1],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
  };
  const g = tables[ksize];
  if (!g) throw new Error(`augment: Gaussian blur ksize must be 1, 3, 5 or 7, got ${ksize}`);
  const out: number[] = [];
  for (const a of g) for (const b of g) out.push(a * b);
  return out;
}

/**
 * The motion-blur kernel of albumentations 1.3 `MotionBlur`: `cv2.line`
 * (thickness 1, 8-connected, drawn left to right as OpenCV's `Line` does)
 * from (x1, y1) to (x2, y2) in a ksize x ksize kernel, normalised to sum 1.
 */
export function motionKernel(
  ksize: number,
  x1: number,
  y1: number,
  x2: number,
  y2: number,
): number[] {
  const k = new Array<number>(ksize * ksize).fill(0);
  for (const [x, y] of linePixels(x1, y1, x2, y2)) {
    if (x >= 0 && x < ksize && y >= 0 && y < ksize) k[y * ksize + x] = 1;
  }
  const sum = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / sum);
}

/** The pixels of OpenCV's 8-connected `LineIterator(pt1, pt2, 8, leftToRight = true)`. */
export function linePixels(x1: number, y1: number, x2: number, y2: number): [number, number][] {
  let [px, py] = [x1, y1];
  let dx = x2 - x1;
  let dy = y2 - y1;
  let sx = 1;
  let sy = 1;
  if (dx < 0) {
    dx = -dx;
    dy = -dy;
    [px, py] = [x2, y2];
  }
  if (dy < 0) {
    dy = -dy;
    sy = -1;
  }
  const vert = dy > dx;
  if (vert) {
    [dx, dy] = [dy, dx];
    [sx, sy] = [sy, sx];
  }
  // After the swap, dx is the major extent; sx steps the major axis, sy the minor one.
  let err = dx - 2 * dy;
  const out: [number, number][] = [];
  for (let i = 0; i <= dx; i++) {
    out.push([px, py]);
    const minor = err < 0;
    err += -2 * dy + (minor ? 2 * dx : 0);
    if (vert) {
      py += sx;
      if (minor) px += sy;
    } else {
      px += sx;
      if (minor) py += sy;
    }
  }
  return out;
}

/** OpenCV's BORDER_REFLECT_101 index (gfedcb|abcdefgh|gfedcba) for any integer `i`. */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * n - 2;
  let r = i % period;
  if (r < 0) r += period;
  return r >= n ? period - r : r;
}

/** Checks one tile's params against a (depth, size) tile; throws naming the problem. */
export function checkParams(p: AugmentParams, depth: number, size: number, what: string): void {
  const bad = (why: string) => new Error(`${what}: ${why}`);
  if (!Number.isInteger(p.rot90) || p.rot90 < 0 || p.rot90 > 3) {
    throw bad(`rot90 must be an integer in 0..3, got ${p.rot90}`);
  }
  if (p.channelDropout.length > 2) {
    throw bad(`channel dropout drops at most 2 slices, got ${p.channelDropout.length}`);
  }
  for (const d of p.channelDropout) {
    if (!Number.isInteger(d) || d < 0 || d >= depth) {
      throw bad(`dropped slice ${d} is not in 0..${depth - 1}`);
    }
  }
  if (p.shiftScaleRotate && p.shiftScaleRotate.matrix.length !== 6) {
    throw bad(`the shift-scale-rotate matrix needs 6 numbers`);
  }
  const nb = p.noiseBlur;
  if (nb && nb.kind !== "gaussNoise") {
    if (![1, 3, 5, 7].includes(nb.ksize) || nb.kernel.length !== nb.ksize * nb.ksize) {
      throw bad(`a blur kernel must be k x k with odd k <= 7, got ksize ${nb.ksize}`);
    }
  }
  if (nb && nb.kind === "gaussNoise") {
    if (!Number.isInteger(nb.seed) || nb.seed < 0 || nb.seed >= 2 ** 32) {
      throw bad(`the noise seed must be a 32-bit unsigned integer, got ${nb.seed}`);
    }
  }
  const g = p.gridDistortion;
  if (g && (g.stepsX.length !== GRID_STEPS + 1 || g.stepsY.length !== GRID_STEPS + 1)) {
    throw bad(`grid distortion needs ${GRID_STEPS + 1} steps per axis`);
  }
  const h = p.coarseDropout;
  if (
    h && (![h.x, h.y, h.width, h.height].every((v) => Number.isInteger(v) && v >= 0) ||
      h.x + h.width > size || h.y + h.height > size)
  ) {
    throw bad(`hole (${h.x}, ${h.y}, ${h.width}x${h.height}) does not fit a ${size}x${size} tile`);
  }
}
