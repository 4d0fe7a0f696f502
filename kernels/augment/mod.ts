/**
 * `augment` kernel launcher: the seed's training augmentations (seed-spec 4,
 * albumentations 1.3) applied on the GPU to a batch of tiles and labels,
 * each tile with its own drawn {@linkcode AugmentParams}, in the seed's
 * order:
 *
 * 1. `augment_warp` mode 0: flips, rot90, brightness/contrast, channel
 *    dropout and shift-scale-rotate in one gather. Brightness/contrast and
 *    dropout are pixel-wise, so applying them to each bilinear tap before
 *    interpolating is exactly the seed's "adjust, then warp" (clipping
 *    included); flips and rot90 are index maps. Image bilinear, labels
 *    nearest, both BORDER_REFLECT_101.
 * 2. `augment_filter` (only when some tile has one): GaussNoise, GaussianBlur
 *    or MotionBlur on the image, clipped to [0, 1].
 * 3. `augment_warp` mode 1 (only when some tile has one): grid distortion
 *    (image bilinear, labels nearest, reflect-101) and the coarse-dropout
 *    hole (image and labels 0).
 *
 * The per-tile parameters travel in one small table buffer (created mapped,
 * so no queue write can race the recorder; dropped by the garbage collector
 * once unreferenced). A batch needs one dispatch per pass, or one per group
 * of whole tiles when the batch exceeds `gpu.maxBinding`.
 *
 * Differences from the seed, by design: the seed runs on uint8 and rounds
 * to uint8 after every transform; this works in float32 on [0, 1] throughout
 * (a difference of at most about 1/255 per step). OpenCV's bilinear warps
 * round source coordinates to 1/32 pixel; here the weights are exact.
 * GaussNoise uses a counter-based hash, not numpy's generator.
 *
 * @module
 */

import warpSource from "./augment_warp.wgsl" with { type: "text" };
import filterSource from "./augment_filter.wgsl" with { type: "text" };
import { HASH_WGSL } from "../hash.ts";
import type { Gpu } from "../device.ts";
import { bindWindow, type BufferBinding, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import { type AugmentParams, checkParams, gridMap, invertAffine } from "./params.ts";

export {
  type AugmentParams,
  gaussianKernel,
  gridMap,
  identityParams,
  invertAffine,
  motionKernel,
  type NoiseBlurParams,
  shiftScaleRotateMatrix,
  type ShiftScaleRotateParams,
} from "./params.ts";

/** Table words before the two grid maps (see augment_warp.wgsl). */
const HEADER_WORDS = 68;
const NO_SLICE = 0xffffffff;

/** Packs one record per tile; returns the words and the stride. */
export function packTable(
  params: readonly AugmentParams[],
  size: number,
): { words: Uint32Array; stride: number } {
  const stride = HEADER_WORDS + 2 * size;
  const words = new Uint32Array(params.length * stride);
  const floats = new Float32Array(words.buffer);
  params.forEach((p, b) => {
    const t = b * stride;
    let flags = (p.hflip ? 1 : 0) | (p.vflip ? 2 : 0) | ((p.rot90 & 3) << 2);
    floats[t + 1] = 1;
    if (p.brightnessContrast) {
      flags |= 16;
      floats[t + 1] = p.brightnessContrast.alpha;
      floats[t + 2] = p.brightnessContrast.beta;
    }
    words[t + 3] = p.channelDropout[0] ?? NO_SLICE;
    words[t + 4] = p.channelDropout[1] ?? NO_SLICE;
    if (p.shiftScaleRotate) {
      flags |= 32;
      floats.set(invertAffine(p.shiftScaleRotate.matrix), t + 5);
    }
    const nb = p.noiseBlur;
    if (nb?.kind === "gaussNoise") {
      flags |= 1 << 8;
      floats[t + 11] = Math.sqrt(nb.variance) / 255;
      words[t + 12] = nb.seed;
    } else if (nb) {
      flags |= 2 << 8;
      words[t + 13] = nb.ksize;
      floats.set(nb.kernel, t + 18);
    }
    if (p.gridDistortion) {
      flags |= 64;
      floats.set(gridMap(p.gridDistortion.stepsX, size), t + HEADER_WORDS);
      floats.set(gridMap(p.gridDistortion.stepsY, size), t + HEADER_WORDS + size);
    }
    const h = p.coarseDropout;
    if (h && h.width > 0 && h.height > 0) {
      flags |= 128;
      words.set([h.x, h.y, h.x + h.width, h.y + h.height], t + 14);
    }
    words[t] = flags;
  });
  return { words, stride };
}

function tableBuffer(gpu: Gpu, words: Uint32Array): GPUBuffer {
  const buffer = gpu.device.createBuffer({
    size: Math.max(16, words.byteLength),
    usage: GPUBufferUsage.STORAGE,
    mappedAtCreation: true,
    label: "augment table",
  });
  new Uint32Array(buffer.getMappedRange()).set(words);
  buffer.unmap();
  return buffer;
}

/** Geometry of a batch. */
interface Dims {
  batch: number;
  depth: number;
  labels: number;
  size: number;
}

function dims(tiles: GpuTensor, labels: GpuTensor, params: readonly AugmentParams[]): Dims {
  const s = tiles.shape;
  if (tiles.dtype !== "f32" || s.length !== 5 || s[1] !== 1 || s[3] !== s[4]) {
    throw new Error(`augment: tiles must be f32 (B, 1, D, T, T), got ${tiles}`);
  }
  const [batch, , depth, size] = s;
  const l = labels.shape;
  if (
    labels.dtype !== "f32" || l.length !== 4 || l[0] !== batch || l[2] !== size ||
    l[3] !== size || l[1] < 1
  ) {
    throw new Error(`augment: labels must be f32 (${batch}, L, ${size}, ${size}), got ${labels}`);
  }
  if (params.length !== batch) {
    throw new Error(`augment: ${params.length} params records for a batch of ${batch} tiles`);
  }
  params.forEach((p, b) => checkParams(p, depth, size, `augment: tile ${b}`));
  return { batch, depth, labels: l[1], size };
}

/** Tiles per dispatch so that every bound window fits `gpu.maxBinding`. */
function tilesPerDispatch(gpu: Gpu, d: Dims): number {
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const perTile = Math.max(d.depth, d.labels) * d.size * d.size;
  if (perTile > limit) {
    throw new Error(
      `augment: one tile of ${
        Math.max(d.depth, d.labels)
      } x ${d.size} x ${d.size} exceeds the binding limit`,
    );
  }
  return Math.min(d.batch, Math.floor(limit / perTile));
}

/** Windows of `n` tiles from tile `b0` of a (B, C, T, T)-like tensor. */
function tileWindow(
  t: GpuTensor,
  b0: number,
  n: number,
  perTile: number,
): { binding: BufferBinding; base: number } {
  return bindWindow(t, b0 * perTile, n * perTile);
}

function recordWarp(
  gpu: Gpu,
  rec: Recorder,
  d: Dims,
  table: { buffer: GPUBuffer; stride: number },
  mode: 0 | 1,
  io: { x: GpuTensor; lx: GpuTensor; y: GpuTensor; ly: GpuTensor },
): void {
  const kernel = gpu.kernels.get({ name: "augment_warp", source: warpSource });
  const per = tilesPerDispatch(gpu, d);
  const img = d.depth * d.size * d.size;
  const lab = d.labels * d.size * d.size;
  for (let b0 = 0; b0 < d.batch; b0 += per) {
    const n = Math.min(per, d.batch - b0);
    const x = tileWindow(io.x, b0, n, img);
    const lx = tileWindow(io.lx, b0, n, lab);
    const y = tileWindow(io.y, b0, n, img);
    const ly = tileWindow(io.ly, b0, n, lab);
    rec.dispatch({
      kernel,
      uniforms: [
        n,
        b0,
        d.depth,
        d.labels,
        d.size,
        table.stride,
        mode,
        x.base,
        lx.base,
        y.base,
        ly.base,
      ],
      bindings: [{ buffer: table.buffer }, x.binding, lx.binding, y.binding, ly.binding],
      invocations: n * d.size * d.size,
    });
  }
}

function recordFilter(
  gpu: Gpu,
  rec: Recorder,
  d: Dims,
  table: { buffer: GPUBuffer; stride: number },
  x: GpuTensor,
  y: GpuTensor,
): void {
  const kernel = gpu.kernels.get({ name: "augment_filter", source: HASH_WGSL + filterSource });
  const per = tilesPerDispatch(gpu, d);
  const img = d.depth * d.size * d.size;
  for (let b0 = 0; b0 < d.batch; b0 += per) {
    const n = Math.min(per, d.batch - b0);
    const xw = tileWindow(x, b0, n, img);
    const yw = tileWindow(y, b0, n, img);
    rec.dispatch({
      kernel,
      uniforms: [n, b0, d.depth, d.size, table.stride, xw.base, yw.base],
      bindings: [{ buffer: table.buffer }, xw.binding, yw.binding],
      invocations: n * d.size * d.size,
    });
  }
}

/**
 * Records the seed's augmentations of a batch: `tiles` (B, 1, D, T, T) f32
 * in [0, 1] (depth slices are the seed's channels) and `labels` (B, L, T, T)
 * f32 (binary ink or a class map; moved by the geometric transforms with
 * nearest sampling and zeroed by coarse dropout only). `params[b]` is tile
 * b's draw. Returns NEW tensors; the inputs are untouched and stay owned by
 * the caller.
 *
 * @example
 * ```ts ignore
 * const params = Array.from({ length: tiles.shape[0] }, identityParams);
 * const out = recordAugment(gpu, rec, tiles, labels, params);
 * rec.submit();
 * ```
 */
export function recordAugment(
  gpu: Gpu,
  rec: Recorder,
  tiles: GpuTensor,
  labels: GpuTensor,
  params: readonly AugmentParams[],
): { tiles: GpuTensor; labels: GpuTensor } {
  const d = dims(tiles, labels, params);
  const { words, stride } = packTable(params, d.size);
  const table = { buffer: tableBuffer(gpu, words), stride };
  const filter = params.some((p) => p.noiseBlur);
  const second = params.some((p) => p.gridDistortion || p.coarseDropout);

  let img = emptyTensor(gpu, tiles.shape, "f32", "augment tiles");
  let lab = emptyTensor(gpu, labels.shape, "f32", "augment labels");
  if (d.batch === 0) return { tiles: img, labels: lab };
  recordWarp(gpu, rec, d, table, 0, { x: tiles, lx: labels, y: img, ly: lab });
  if (filter) {
    const next = emptyTensor(gpu, tiles.shape, "f32", "augment tiles");
    recordFilter(gpu, rec, d, table, img, next);
    img.release();
    img = next;
  }
  if (second) {
    const y = emptyTensor(gpu, tiles.shape, "f32", "augment tiles");
    const ly = emptyTensor(gpu, labels.shape, "f32", "augment labels");
    recordWarp(gpu, rec, d, table, 1, { x: img, lx: lab, y, ly });
    img.release();
    lab.release();
    [img, lab] = [y, ly];
  }
  return { tiles: img, labels: lab };
}
