/**
 * `reduce` kernel launchers: {@linkcode recordChannelSum}, per-channel sums
 * of a tensor viewed as (outer, channels, inner) — the bias gradient of a
 * convolution ((N, C, S): outer N, inner S) or of a linear layer (rows
 * (R, C): outer R, inner 1).
 *
 * The reduction is cut into chunks of at most {@linkcode MAX_CHUNK}
 * elements summed sequentially in f32 by one invocation each, and the
 * partial sums are reduced by further passes of the same kernel, so no
 * rounding chain is longer than a chunk and both CPU cores get work even
 * when there are few channels.
 *
 * @module
 */

import source from "./channel_sum.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import type { Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Longest sequential f32 sum of one invocation. */
export const MAX_CHUNK = 1024;
/** Shortest chunk worth an invocation of its own. */
const MIN_CHUNK = 128;
/** Invocations wanted per pass (a few workgroups per core). */
const TARGET_INVOCATIONS = 256;
const WG = 16;

/**
 * Records out[c] = sum over o < outer, i < inner of x[(o * channels + c) *
 * inner + i] into a new f32 tensor of shape [channels].
 */
export function recordChannelSum(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  outer: number,
  channels: number,
  inner: number,
): GpuTensor {
  if (x.dtype !== "f32") throw new Error(`channel_sum: input must be f32, got ${x}`);
  if (![outer, channels, inner].every((v) => Number.isInteger(v) && v >= 1)) {
    throw new Error(`channel_sum: bad view (${outer}, ${channels}, ${inner}) of ${x}`);
  }
  if (outer * channels * inner !== x.size) {
    throw new Error(`channel_sum: view (${outer}, ${channels}, ${inner}) does not match ${x}`);
  }
  if (x.byteLength > gpu.maxBinding) {
    throw new Error(`channel_sum: input ${x} exceeds the storage binding limit`);
  }
  const kernel = gpu.kernels.get({ name: "channel_sum", source, defines: { WG } });
  const m = outer * inner;
  const parts = partsFor(m, channels);
  const chunk = Math.ceil(m / parts);
  const used = Math.ceil(m / chunk);
  const out = emptyTensor(gpu, used === 1 ? [channels] : [used, channels], "f32");
  rec.dispatch({
    kernel,
    uniforms: [outer, channels, inner, m, chunk, used],
    bindings: [x, out],
    invocations: used * channels,
  });
  if (used === 1) return out;
  const y = recordChannelSum(gpu, rec, out, used, channels, 1);
  out.release();
  return y;
}

/** Parts of a reduction of m elements per channel: chunks <= MAX_CHUNK, enough invocations. */
function partsFor(m: number, channels: number): number {
  const least = Math.ceil(m / MAX_CHUNK);
  const most = Math.max(1, Math.floor(m / MIN_CHUNK));
  const wanted = Math.ceil(TARGET_INVOCATIONS / channels);
  return Math.max(least, Math.min(wanted, most));
}
