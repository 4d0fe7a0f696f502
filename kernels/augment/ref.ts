/**
 * Plain float64 TypeScript reference of the seed's training augmentations,
 * applied step by step in the seed's order exactly as albumentations 1.3 /
 * OpenCV define each transform (no fusion): flips, rot90, brightness /
 * contrast, channel dropout, shift-scale-rotate (`cv2.warpAffine`), one of
 * noise / Gaussian blur / motion blur (`cv2.filter2D`), grid distortion
 * (`cv2.remap`) and coarse dropout. The GPU launcher fuses these passes; its
 * tests compare against this. The step functions are exported for the
 * OpenCV fixture test.
 *
 * One tile is D image planes and L label planes of T x T, row-major.
 *
 * @module
 */

import { lowbias32 } from "../hash.ts";
import {
  type AugmentParams,
  gridMap,
  invertAffine,
  type NoiseBlurParams,
  reflect101,
} from "./params.ts";

/** A stack of T x T planes, row-major, plane-major. */
export type Planes = Float64Array<ArrayBuffer>;

/** `np.ascontiguousarray(img[:, ::-1])` per plane (HorizontalFlip). */
export function hflipRef(x: ArrayLike<number>, t: number): Planes {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += t * t) {
    for (let r = 0; r < t; r++) {
      for (let c = 0; c < t; c++) y[o + r * t + c] = x[o + r * t + (t - 1 - c)];
    }
  }
  return y;
}

/** `img[::-1]` per plane (VerticalFlip). */
export function vflipRef(x: ArrayLike<number>, t: number): Planes {
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += t * t) {
    for (let r = 0; r < t; r++) {
      for (let c = 0; c < t; c++) y[o + r * t + c] = x[o + (t - 1 - r) * t + c];
    }
  }
  return y;
}

/** `np.rot90(img, k)` per square plane: for k = 1, out[i][j] = in[j][T-1-i]. */
export function rot90PlanesRef(x: ArrayLike<number>, t: number, k: number): Planes {
  let y: Planes = Float64Array.from(x);
  for (let n = 0; n < ((k % 4) + 4) % 4; n++) {
    const z = new Float64Array(x.length);
    for (let o = 0; o < x.length; o += t * t) {
      for (let i = 0; i < t; i++) {
        for (let j = 0; j < t; j++) z[o + i * t + j] = y[o + j * t + (t - 1 - i)];
      }
    }
    y = z;
  }
  return y;
}

/** Bilinear sample of one plane at (sx, sy) with BORDER_REFLECT_101 taps. */
function bilinear(x: ArrayLike<number>, o: number, t: number, sx: number, sy: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const wx = sx - x0;
  const wy = sy - y0;
  const c0 = reflect101(x0, t);
  const c1 = reflect101(x0 + 1, t);
  const r0 = o + reflect101(y0, t) * t;
  const r1 = o + reflect101(y0 + 1, t) * t;
  return (1 - wy) * ((1 - wx) * x[r0 + c0] + wx * x[r0 + c1]) +
    wy * ((1 - wx) * x[r1 + c0] + wx * x[r1 + c1]);
}

/** Round half to even (OpenCV's `cvRound`, used by `remap` nearest). */
export function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** Options of the warp references. */
export interface WarpOptions {
  /**
   * Emulate OpenCV's fixed-point coordinates (source points rounded to
   * 1/1024 then to 1/32 pixel for bilinear in warpAffine, to 1/32 in remap),
   * for bit-level comparison with cv2 in the fixture test. Default false:
   * exact coordinates, as the GPU kernels compute them.
   */
  opencv?: boolean;
}

/**
 * `cv2.warpAffine(img, m, (T, T), flags, borderMode=BORDER_REFLECT_101)` per
 * plane: out(x, y) = img(inverse(m) (x, y)), bilinear or nearest
 * (floor(s + 0.5), OpenCV's fixed-point rounding half up).
 */
export function warpAffineRef(
  x: ArrayLike<number>,
  t: number,
  m: readonly number[],
  interp: "linear" | "nearest",
  opts: WarpOptions = {},
): Planes {
  const [a, b, c, d, e, f] = invertAffine(m);
  const y = new Float64Array(x.length);
  for (let o = 0; o < x.length; o += t * t) {
    for (let r = 0; r < t; r++) {
      for (let q = 0; q < t; q++) {
        let sx = a * q + b * r + c;
        let sy = d * q + e * r + f;
        if (opts.opencv) {
          // imgwarp.cpp WarpAffineInvoker: AB_BITS = 10, INTER_BITS = 5.
          const delta = interp === "nearest" ? 512 : 16;
          const fx = roundHalfEven((b * r + c) * 1024) + delta + roundHalfEven(a * q * 1024);
          const fy = roundHalfEven((e * r + f) * 1024) + delta + roundHalfEven(d * q * 1024);
          if (interp === "nearest") {
            y[o + r * t + q] = x[o + reflect101(fy >> 10, t) * t + reflect101(fx >> 10, t)];
            continue;
          }
          sx = (fx >> 5) / 32;
          sy = (fy >> 5) / 32;
        }
        y[o + r * t + q] = interp === "linear" ? bilinear(x, o, t, sx, sy) : x[
          o + reflect101(Math.floor(sy + 0.5), t) * t + reflect101(Math.floor(sx + 0.5), t)
        ];
      }
    }
  }
  return y;
}

/**
 * `cv2.remap(img, mapX[x], mapY[y], interp, borderMode=BORDER_REFLECT_101)`
 * per plane with separable maps (map_x[y][x] = mapX[x], map_y[y][x] =
 * mapY[y], GridDistortion's meshgrid): bilinear, or nearest rounding half
 * to even.
 */
export function remapRef(
  x: ArrayLike<number>,
  t: number,
  mapX: ArrayLike<number>,
  mapY: ArrayLike<number>,
  interp: "linear" | "nearest",
  opts: WarpOptions = {},
): Planes {
  const y = new Float64Array(x.length);
  const cv = opts.opencv && interp === "linear";
  for (let o = 0; o < x.length; o += t * t) {
    for (let r = 0; r < t; r++) {
      for (let q = 0; q < t; q++) {
        // imgwarp.cpp RemapInvoker: float maps become cvRound(s * 32) / 32.
        const sx = cv ? roundHalfEven(mapX[q] * 32) / 32 : mapX[q];
        const sy = cv ? roundHalfEven(mapY[r] * 32) / 32 : mapY[r];
        y[o + r * t + q] = interp === "linear"
          ? bilinear(x, o, t, sx, sy)
          : x[o + reflect101(roundHalfEven(sy), t) * t + reflect101(roundHalfEven(sx), t)];
      }
    }
  }
  return y;
}

/**
 * `cv2.filter2D(img, -1, kernel)` per plane: correlation with a k x k
 * kernel anchored at its centre, BORDER_REFLECT_101 (also what
 * `cv2.GaussianBlur` computes, separably).
 */
export function filter2dRef(
  x: ArrayLike<number>,
  t: number,
  kernel: readonly number[],
  k: number,
): Planes {
  const y = new Float64Array(x.length);
  const h = (k - 1) / 2;
  for (let o = 0; o < x.length; o += t * t) {
    for (let r = 0; r < t; r++) {
      for (let q = 0; q < t; q++) {
        let acc = 0;
        for (let i = 0; i < k; i++) {
          const row = o + reflect101(r + i - h, t) * t;
          for (let j = 0; j < k; j++) acc += kernel[i * k + j] * x[row + reflect101(q + j - h, t)];
        }
        y[o + r * t + q] = acc;
      }
    }
  }
  return y;
}

/**
 * The standard normal value of GaussNoise at element `index` = (d * T + y) *
 * T + x of a tile whose noise seed is `seed`: Box-Muller on two hashed
 * 24-bit uniforms. The WGSL computes the same numbers in float32.
 */
export function gaussNoiseValue(seed: number, index: number): number {
  const h = lowbias32(seed >>> 0);
  const a = lowbias32(lowbias32((h + 2 * index) >>> 0));
  const b = lowbias32(lowbias32((h + 2 * index + 1) >>> 0));
  const u1 = ((a >>> 8) + 0.5) / 16777216;
  const u2 = (b >>> 8) / 16777216;
  // cos(2 pi u2) written as -cos(pi (2 u2 - 1)) keeps the GPU's argument in [-pi, pi).
  return -Math.sqrt(-2 * Math.log(u1)) * Math.cos(Math.PI * (2 * u2 - 1));
}

function clip01(x: Planes): Planes {
  for (let i = 0; i < x.length; i++) x[i] = Math.min(1, Math.max(0, x[i]));
  return x;
}

/** The image-only step: noise (sigma = sqrt(var) / 255) or a blur, then clipped to [0, 1]. */
export function noiseBlurRef(x: ArrayLike<number>, t: number, nb: NoiseBlurParams): Planes {
  if (nb.kind === "gaussNoise") {
    const sigma = Math.sqrt(nb.variance) / 255;
    const y = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = x[i] + sigma * gaussNoiseValue(nb.seed, i);
    return clip01(y);
  }
  return clip01(filter2dRef(x, t, nb.kernel, nb.ksize));
}

/**
 * One tile through the seed's sequence. `image` holds D planes, `label` L
 * planes, each T x T; returns new arrays. `opts` is passed to the warps.
 */
export function augmentTileRef(
  image: ArrayLike<number>,
  label: ArrayLike<number>,
  t: number,
  p: AugmentParams,
  opts: WarpOptions = {},
): { image: Planes; label: Planes } {
  let x: Planes = Float64Array.from(image);
  let l: Planes = Float64Array.from(label);
  if (p.hflip) [x, l] = [hflipRef(x, t), hflipRef(l, t)];
  if (p.vflip) [x, l] = [vflipRef(x, t), vflipRef(l, t)];
  if (p.rot90 % 4 !== 0) [x, l] = [rot90PlanesRef(x, t, p.rot90), rot90PlanesRef(l, t, p.rot90)];
  if (p.brightnessContrast) {
    const { alpha, beta } = p.brightnessContrast;
    for (let i = 0; i < x.length; i++) x[i] = x[i] * alpha + beta;
    clip01(x);
  }
  for (const d of p.channelDropout) x.fill(0, d * t * t, (d + 1) * t * t);
  if (p.shiftScaleRotate) {
    const m = p.shiftScaleRotate.matrix;
    [x, l] = [warpAffineRef(x, t, m, "linear", opts), warpAffineRef(l, t, m, "nearest", opts)];
  }
  if (p.noiseBlur) x = noiseBlurRef(x, t, p.noiseBlur);
  if (p.gridDistortion) {
    const mx = gridMap(p.gridDistortion.stepsX, t);
    const my = gridMap(p.gridDistortion.stepsY, t);
    [x, l] = [remapRef(x, t, mx, my, "linear", opts), remapRef(l, t, mx, my, "nearest", opts)];
  }
  const h = p.coarseDropout;
  if (h) {
    for (const planes of [x, l]) {
      for (let o = 0; o < planes.length; o += t * t) {
        for (let r = h.y; r < h.y + h.height; r++) {
          planes.fill(0, o + r * t + h.x, o + r * t + h.x + h.width);
        }
      }
    }
  }
  return { image: x, label: l };
}

/**
 * A batch through {@linkcode augmentTileRef}: `tiles` (B, 1, D, T, T) and
 * `labels` (B, L, T, T) flattened, one params record per tile.
 */
export function augmentRef(
  tiles: Float32Array,
  labels: Float32Array,
  shape: { batch: number; depth: number; labels: number; size: number },
  params: readonly AugmentParams[],
): { tiles: Float64Array; labels: Float64Array } {
  const { batch, depth, size } = shape;
  const nl = shape.labels;
  const plane = size * size;
  const outT = new Float64Array(tiles.length);
  const outL = new Float64Array(labels.length);
  for (let b = 0; b < batch; b++) {
    const img = Float64Array.from(tiles.subarray(b * depth * plane, (b + 1) * depth * plane));
    const lab = Float64Array.from(labels.subarray(b * nl * plane, (b + 1) * nl * plane));
    const r = augmentTileRef(img, lab, size, params[b]);
    outT.set(r.image, b * depth * plane);
    outL.set(r.label, b * nl * plane);
  }
  return { tiles: outT, labels: outL };
}
