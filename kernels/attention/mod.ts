/**
 * `attention` kernel launcher: multi-head scaled dot-product attention with
 * an online softmax (no score matrix), heads as contiguous channel slices,
 * and its gradient (`recordAttentionBackward`, flash-attention style).
 *
 * @module
 */

import source from "./attention.wgsl" with { type: "text" };
import commonSource from "./attention_backward_common.wgsl" with { type: "text" };
import statsSource from "./attention_backward_stats.wgsl" with { type: "text" };
import dqSource from "./attention_backward_dq.wgsl" with { type: "text" };
import dkvSource from "./attention_backward_dkv.wgsl" with { type: "text" };
import { recordBroadcastSum } from "../add_broadcast/mod.ts";
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

/** Options of {@linkcode recordAttentionBackward}. */
export interface AttentionBackwardOptions {
  heads: number;
  /** The forward's output (B, Tq, H·dh), if kept; otherwise it is recomputed. */
  out?: GpuTensor;
}

/** Gradients of attention. */
export interface AttentionGrads {
  dq: GpuTensor;
  dk: GpuTensor;
  dv: GpuTensor;
}

/**
 * Records the gradients of {@linkcode recordAttention} (separate q
 * (B, Tq, H·dh), k and v (B, Tk, H·dh), scale 1 / sqrt(dh)) given the
 * upstream gradient `dout` (B, Tq, H·dh), flash-attention style: the
 * softmax is recomputed from a per-query logsumexp and D = dout·out (a
 * (B, H, Tq, 2) buffer), then one kernel accumulates dq per query and one
 * dk and dv per key (over chunks of the queries when there are few keys,
 * summed afterwards). Memory is O((Tq + Tk)·C); every tensor must fit one
 * storage binding.
 */
export function recordAttentionBackward(
  gpu: Gpu,
  rec: Recorder,
  q: GpuTensor,
  k: GpuTensor,
  v: GpuTensor,
  dout: GpuTensor,
  o: AttentionBackwardOptions,
): AttentionGrads {
  const out = o.out;
  for (const t of [q, k, v, dout, ...(out ? [out] : [])]) {
    if (t.shape.length !== 3 || t.dtype !== "f32") {
      throw new Error(`attention backward: inputs must be f32 (B, T, C), got ${t}`);
    }
  }
  const [b, tq, c] = q.shape;
  const tk = k.shape[1];
  const same = (t: GpuTensor, shape: number[]) => t.shape.join() === shape.join();
  if (
    !same(k, [b, tk, c]) || !same(v, [b, tk, c]) || !same(dout, [b, tq, c]) ||
    (out && !same(out, [b, tq, c]))
  ) {
    throw new Error(
      `attention backward: q ${q}, k ${k}, v ${v}, dout ${dout}${out ? `, out ${out}` : ""} ` +
        `do not agree`,
    );
  }
  const heads = o.heads;
  const dh = c / heads;
  if (!HEAD_DIMS.includes(dh)) {
    throw new Error(`attention backward: head size ${dh} is not a multiple of 4 up to 64`);
  }
  const statsBytes = b * heads * tq * 8;
  for (const t of [q, k, v, dout, ...(out ? [out] : [])]) {
    if (t.byteLength > gpu.maxBinding) {
      throw new Error(`attention backward: ${t} exceeds the binding limit (${gpu.maxBinding} B)`);
    }
  }
  if (statsBytes > gpu.maxBinding) {
    throw new Error(`attention backward: the statistics of q ${q} exceed the binding limit`);
  }
  // Few keys leave the dk/dv kernel few invocations: split the queries into chunks whose
  // partial sums are added afterwards (aiming at about 1024 invocations).
  const keyBlocks = b * heads * Math.ceil(tk / 4);
  let splits = Math.max(1, Math.min(Math.ceil(1024 / keyBlocks), Math.ceil(tq / 64)));
  while (splits > 1 && splits * k.byteLength > gpu.maxBinding) splits = Math.ceil(splits / 2);
  const chunk = Math.ceil(tq / splits);
  splits = Math.ceil(tq / chunk);
  const scale = 1 / Math.sqrt(dh);
  const uniforms = [tq, tk, b, heads, c, f32bits(scale * Math.LOG2E), f32bits(scale), chunk];
  const kernel = (name: string, src: string, defines: Record<string, number> = {}) =>
    gpu.kernels.get({
      name: `attention_backward_${name}`,
      source: commonSource + src,
      defines: { DH: dh, WG: 16, ...defines },
    });
  const stats = emptyTensor(gpu, [b, heads, tq, 2], "f32");
  rec.dispatch({
    kernel: kernel("stats", statsSource, { OUT_GIVEN: out ? 1 : 0 }),
    uniforms,
    // Without `out` the kernel never reads binding 5: dout stands in.
    bindings: [q, k, v, dout, out ?? dout, stats],
    invocations: b * heads * Math.ceil(tq / 4),
  });
  const dq = emptyTensor(gpu, q.shape, "f32");
  rec.dispatch({
    kernel: kernel("dq", dqSource),
    uniforms,
    bindings: [q, k, v, dout, stats, dq],
    invocations: b * heads * Math.ceil(tq / 4),
  });
  const partShape = splits > 1 ? [splits, ...k.shape] : k.shape;
  let dk = emptyTensor(gpu, partShape, "f32");
  let dv = emptyTensor(gpu, partShape, "f32");
  rec.dispatch({
    kernel: kernel("dkv", dkvSource),
    uniforms,
    bindings: [q, k, v, dout, stats, dk, dv],
    invocations: splits * keyBlocks,
  });
  if (splits > 1) {
    const [pk, pv] = [dk, dv];
    dk = recordBroadcastSum(gpu, rec, pk, k.shape);
    dv = recordBroadcastSum(gpu, rec, pv, v.shape);
    pk.release();
    pv.release();
  }
  stats.release();
  return { dq, dk, dv };
}
