/**
 * `attention` kernel launcher: multi-head scaled dot-product attention with
 * an online softmax (no score matrix), heads as contiguous channel slices.
 *
 * @module
 */

import source from "./attention.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Head sizes with a compiled variant. */
/** Head sizes the kernel compiles for: multiples of 4 up to 64 (64 in the real models). */
export const HEAD_DIMS = Array.from({ length: 16 }, (_, i) => 4 * (i + 1));

/** Options of {@linkcode recordAttention}. */
export interface AttentionOptions {
  heads: number;
  /** Channels H·dh read from each of q, k, v (default: q's last dimension). */
  channels?: number;
  /** Score scale (default 1 / sqrt(dh)). */
  scale?: number;
  /** Channel offsets of the Q, K and V slices in their tensors (default 0), e.g. 0, C, 2C in a fused qkv. */
  qOffset?: number;
  kOffset?: number;
  vOffset?: number;
}

/**
 * Records softmax(Q·Kᵀ·scale)·V per head for q (B, Tq, ·), k and v
 * (B, Tk, ·) (possibly the same tensor, e.g. UNETR's qkv (B, T, 3·H·dh))
 * into a new (B, Tq, H·dh) tensor, heads concatenated head-major.
 */
export function recordAttention(
  gpu: Gpu,
  rec: Recorder,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  opts: AttentionOptions,
): GpuTensor {
  for (const t of [q, k, v]) {
    if (t.shape.length !== 3) throw new Error(`attention: inputs must be (B, T, C), got ${t}`);
  }
  const [b, tq, qld] = q.shape;
  const [bk, tk, kld] = k.shape;
  const vld = v.shape[2];
  if (bk !== b || v.shape[0] !== b || v.shape[1] !== tk) {
    throw new Error(`attention: q ${q}, k ${k} and v ${v} do not agree`);
  }
  const heads = opts.heads;
  const channels = opts.channels ?? qld;
  const dh = channels / heads;
  if (!HEAD_DIMS.includes(dh)) {
    throw new Error(`attention: head size ${dh} is not a multiple of 4 up to 64`);
  }
  const [qo, ko, vo] = [opts.qOffset ?? 0, opts.kOffset ?? 0, opts.vOffset ?? 0];
  if (qo + channels > qld || ko + channels > kld || vo + channels > vld) {
    throw new Error(`attention: ${channels} channels at the given offsets exceed the inputs`);
  }
  const scale = (opts.scale ?? 1 / Math.sqrt(dh)) * Math.LOG2E;
  const out = emptyTensor(gpu, [b, tq, channels], "f32");
  const kernel = gpu.kernels.get({ name: "attention", source, defines: { DH: dh, WG: 16 } });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  // Spans (elements) of `items` batch items x `rows` rows of a matrix with row stride ld.
  const span = (items: number, t: number, rows: number, ld: number) =>
    (items - 1) * t * ld + (rows - 1) * ld + channels;
  if (span(1, tk, tk, kld) > limit || span(1, tk, tk, vld) > limit) {
    throw new Error(`attention: the keys or values of one batch item exceed the binding limit`);
  }
  const fits = (items: number, rows: number) =>
    Math.max(
      span(items, tq, rows, qld),
      span(items, tq, rows, channels),
      span(items, tk, tk, kld),
      span(items, tk, tk, vld),
    ) <= limit;
  let items = b;
  while (items > 1 && !fits(items, tq)) items = Math.ceil(items / 2);
  let rows = tq;
  while (rows > 8 && !fits(1, rows)) rows = Math.ceil(rows / 16) * 8;
  for (let b0 = 0; b0 < b; b0 += items) {
    const n = Math.min(items, b - b0);
    for (let t0 = 0; t0 < tq; t0 += rows) {
      const nr = Math.min(rows, tq - t0);
      const qw = bindWindow(q, (b0 * tq + t0) * qld + qo, span(n, tq, nr, qld));
      const kw = bindWindow(k, b0 * tk * kld + ko, span(n, tk, tk, kld));
      const vw = bindWindow(v, b0 * tk * vld + vo, span(n, tk, tk, vld));
      const ow = bindWindow(out, (b0 * tq + t0) * channels, span(n, tq, nr, channels));
      rec.dispatch({
        kernel,
        uniforms: [
          nr,
          tk,
          n,
          heads,
          qld,
          kld,
          vld,
          channels,
          tq * qld,
          tk * kld,
          tk * vld,
          tq * channels,
          qw.base,
          kw.base,
          vw.base,
          ow.base,
          f32bits(scale),
        ],
        bindings: [qw.binding, kw.binding, vw.binding, ow.binding],
        invocations: n * heads * Math.ceil(nr / 8),
      });
    }
  }
  return out;
}
