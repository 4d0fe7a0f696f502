/**
 * `rot90` kernel launchers: quarter turns of the last two dimensions (H, W)
 * of a tensor exactly as `torch.rot90(x, k, dims=(-2, -1))` (counter-clockwise:
 * for k = 1, `out[i][j] = in[j][W - 1 - i]`), optionally after a horizontal
 * flip (`torch.flip(x, dims=(-1,))`), and the two halves of rotation
 * test-time augmentation built on the same gather:
 *
 * - {@linkcode recordTtaExpand}: a batch of B items becomes G * B items, the G
 *   variants of every item, variant-major (variant g of item b at g * n + b);
 * - {@linkcode recordTtaMerge}: the inverse: undoes each variant's transform
 *   and averages the G copies of every item in one pass (no intermediate
 *   tensors), the seed's mean of the 4 rotated-back logit maps.
 *
 * Tensors of any size are processed in windows of whole (H, W) planes under
 * `gpu.maxBinding`; when the G copies of a window do not fit one binding, the
 * variants are summed over several dispatches into the output.
 *
 * @module
 */

import source from "./rot90.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/**
 * One transform of a plane: `torch.rot90(flip ? torch.flip(x, dims=(-1,)) : x,
 * k, dims=(-2, -1))`. `k` may be any integer (negative turns clockwise).
 */
export interface Rot90Variant {
  k: number;
  flip: boolean;
}

/** Variants summed by one dispatch (the size of the kernel's uniform table). */
const MAX_VARIANTS_PER_DISPATCH = 8;

/** `k` as a number of counter-clockwise quarter turns in 0..3 (Python's `k % 4`). */
export function quarterTurns(k: number): number {
  if (!Number.isInteger(k)) throw new Error(`rot90: k must be an integer, got ${k}`);
  return ((k % 4) + 4) % 4;
}

/**
 * The transform that undoes `v`: a rotation by -k, or, for a flipped variant,
 * the variant itself (a flip followed by a quarter turn is a reflection, its
 * own inverse).
 *
 * @example
 * ```ts
 * import { inverseVariant } from "./mod.ts";
 * console.assert(inverseVariant({ k: 1, flip: false }).k === 3);
 * console.assert(inverseVariant({ k: 1, flip: true }).k === 1);
 * ```
 */
export function inverseVariant(v: Rot90Variant): Rot90Variant {
  const k = quarterTurns(v.k);
  return v.flip ? { k, flip: true } : { k: (4 - k) % 4, flip: false };
}

/**
 * Where a variant's output reads in an (h, w) input plane: output element
 * (i, j) of the (outH, outW) result is input element `start + i * di + j * dj`
 * (row-major). Odd turns swap the plane's dimensions.
 */
export function sourceMap(
  v: Rot90Variant,
  h: number,
  w: number,
): { start: number; di: number; dj: number; outH: number; outW: number } {
  const k = quarterTurns(v.k);
  const last = (h - 1) * w; // first element of the last row
  // Source (row, column) of output (i, j), flip applied first:
  //   k=0: (i, j)          flip: (i, w-1-j)
  //   k=1: (j, w-1-i)      flip: (j, i)
  //   k=2: (h-1-i, w-1-j)  flip: (h-1-i, j)
  //   k=3: (h-1-j, i)      flip: (h-1-j, w-1-i)
  const maps: [number, number, number][] = v.flip
    ? [[w - 1, w, -1], [0, 1, w], [last, -w, 1], [last + w - 1, -1, -w]]
    : [[0, w, 1], [w - 1, -1, w], [last + w - 1, -w, -1], [last, 1, -w]];
  const [start, di, dj] = maps[k];
  return k % 2 === 0 ? { start, di, dj, outH: h, outW: w } : { start, di, dj, outH: w, outW: h };
}

/** One source of a gather: the first input plane it reads and its plane map. */
interface Source {
  stack0: number;
  start: number;
  di: number;
  dj: number;
}

/** A gather: `stacks` output planes from `outStack0` on, each the scaled sum of its sources. */
interface Gather {
  x: GpuTensor;
  y: GpuTensor;
  inPlane: number;
  outW: number;
  outPlane: number;
  stacks: number;
  outStack0: number;
  sources: Source[];
  scale: number;
}

function recordGather(gpu: Gpu, rec: Recorder, g: Gather): void {
  if (g.stacks === 0) return;
  const kernel = gpu.kernels.get({ name: "rot90", source });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const planeMax = Math.max(g.inPlane, g.outPlane);
  if (planeMax > limit) throw new Error(`rot90: one plane of ${g.x} exceeds the binding limit`);
  const per = Math.min(g.stacks, Math.floor(limit / planeMax));
  const src = g.sources;
  for (let s0 = 0; s0 < g.stacks; s0 += per) {
    const n = Math.min(per, g.stacks - s0);
    const out = bindWindow(g.y, (g.outStack0 + s0) * g.outPlane, n * g.outPlane);
    // Groups of consecutive sources whose input planes fit one window.
    for (let a = 0; a < src.length;) {
      let lo = src[a].stack0;
      let hi = lo;
      let b = a + 1;
      while (b < src.length && b - a < MAX_VARIANTS_PER_DISPATCH) {
        const l = Math.min(lo, src[b].stack0);
        const h = Math.max(hi, src[b].stack0);
        if ((h - l + n) * g.inPlane > limit) break;
        [lo, hi] = [l, h];
        b++;
      }
      const input = bindWindow(g.x, (lo + s0) * g.inPlane, (hi - lo + n) * g.inPlane);
      const words = [
        n,
        g.outW,
        g.outPlane,
        g.inPlane,
        b - a,
        a === 0 ? 0 : 1,
        f32bits(b === src.length ? g.scale : 1),
        out.base,
      ];
      for (let v = 0; v < MAX_VARIANTS_PER_DISPATCH; v++) {
        const s = src[a + v];
        if (v < b - a) {
          words.push(input.base + (s.stack0 - lo) * g.inPlane, s.start, s.di >>> 0, s.dj >>> 0);
        } else words.push(0, 0, 0, 0);
      }
      rec.dispatch({
        kernel,
        uniforms: words,
        bindings: [input.binding, out.binding],
        invocations: n * g.outPlane,
      });
      a = b;
    }
  }
}

function planeDims(x: GpuTensor, what: string): [number, number] {
  if (x.dtype !== "f32" || x.shape.length < 2) {
    throw new Error(`${what} needs an f32 tensor of rank 2 or more, got ${x}`);
  }
  return [x.shape[x.shape.length - 2], x.shape[x.shape.length - 1]];
}

/**
 * Records `torch.rot90(x, k, dims=(-2, -1))` of `x` (..., H, W) into a new
 * tensor, after `torch.flip(x, dims=(-1,))` when `flip` is set. Odd `k`
 * gives (..., W, H).
 *
 * @example
 * ```ts ignore
 * const y = recordRot90(gpu, rec, x, 1); // (N, C, H, W) -> (N, C, W, H), counter-clockwise
 * ```
 */
export function recordRot90(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  k: number,
  opts: { flip?: boolean } = {},
): GpuTensor {
  const [h, w] = planeDims(x, "rot90");
  const m = sourceMap({ k, flip: opts.flip ?? false }, h, w);
  const y = emptyTensor(gpu, [...x.shape.slice(0, -2), m.outH, m.outW], "f32");
  recordGather(gpu, rec, {
    x,
    y,
    inPlane: h * w,
    outW: m.outW,
    outPlane: h * w,
    stacks: h * w === 0 ? 0 : x.size / (h * w),
    outStack0: 0,
    sources: [{ stack0: 0, ...m }],
    scale: 1,
  });
  return y;
}

/** Checks a TTA batch's shape; returns its items, planes per item and plane size. */
function ttaDims(
  x: GpuTensor,
  variants: readonly Rot90Variant[],
  what: string,
): { items: number; perItem: number; h: number; w: number } {
  const [h, w] = planeDims(x, what);
  if (x.shape.length < 3) {
    throw new Error(`${what} needs a batch of planes (N, ..., H, W), got ${x}`);
  }
  if (variants.length === 0) throw new Error(`${what} needs at least one variant`);
  if (h !== w && variants.some((v) => quarterTurns(v.k) % 2 === 1)) {
    throw new Error(`${what}: odd quarter turns need square planes, got ${x}`);
  }
  const items = x.shape[0];
  return { items, perItem: items === 0 ? 0 : x.size / (items * h * w), h, w };
}

function checkTiles(tiles: number, items: number, what: string): void {
  if (!Number.isInteger(tiles) || tiles < 0 || tiles > items) {
    throw new Error(`${what}: tiles must be an integer in 0..${items}, got ${tiles}`);
  }
}

/**
 * Records the G = `variants.length` transforms of every item of `x`
 * (B, ..., T, T) into a new (G * B, ..., T, T) tensor, variant-major: variant
 * g of item b is item `g * tiles + b`. Only the first `tiles` items of `x`
 * (default all B) are read, for partly filled batches; items from
 * `G * tiles` on are left unwritten.
 */
export function recordTtaExpand(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  variants: readonly Rot90Variant[],
  tiles: number = x.shape[0],
): GpuTensor {
  const { items, perItem, h, w } = ttaDims(x, variants, "tta_expand");
  checkTiles(tiles, items, "tta_expand");
  const y = emptyTensor(gpu, [variants.length * items, ...x.shape.slice(1)], "f32");
  variants.forEach((v, g) => {
    const m = sourceMap(v, h, w);
    recordGather(gpu, rec, {
      x,
      y,
      inPlane: h * w,
      outW: m.outW,
      outPlane: h * w,
      stacks: tiles * perItem,
      outStack0: g * tiles * perItem,
      sources: [{ stack0: 0, ...m }],
      scale: 1,
    });
  });
  return y;
}

/**
 * Records the inverse of {@linkcode recordTtaExpand} followed by the mean
 * over variants: `x` is (G * B, ..., T, T) with variant g of item b at
 * `g * tiles + b` (default `tiles` = B); the result is (B, ..., T, T) with
 * item b = mean over g of the inverse transform of variant g's item b. Items
 * from `tiles` on are left unwritten. One pass, no intermediate tensors.
 */
export function recordTtaMerge(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  variants: readonly Rot90Variant[],
  tiles?: number,
): GpuTensor {
  const { items, perItem, h, w } = ttaDims(x, variants, "tta_merge");
  const g = variants.length;
  if (items % g !== 0) {
    throw new Error(`tta_merge: ${x} does not hold ${g} variants of every item`);
  }
  const b = items / g;
  const n = tiles ?? b;
  checkTiles(n, b, "tta_merge");
  const y = emptyTensor(gpu, [b, ...x.shape.slice(1)], "f32");
  recordGather(gpu, rec, {
    x,
    y,
    inPlane: h * w,
    outW: w,
    outPlane: h * w,
    stacks: n * perItem,
    outStack0: 0,
    sources: variants.map((v, i) => ({
      stack0: i * n * perItem,
      ...sourceMap(inverseVariant(v), h, w),
    })),
    scale: 1 / g,
  });
  return y;
}
