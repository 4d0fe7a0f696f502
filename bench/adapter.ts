/**
 * The adapter's own floors and ceilings: the cost of one awaited round
 * trip, upload and readback bandwidth, and the roofline every kernel is
 * measured against (an FMA-bound kernel's GFLOP/s and a copy kernel's GB/s).
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import { readBuffer } from "../kernels/tensor.ts";

/** Median of a list of numbers. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Times `fn` `reps` times after `warmup` runs; returns the median in milliseconds. */
export async function timeMedian(
  fn: () => Promise<unknown>,
  reps: number,
  warmup = 2,
): Promise<number> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

const TINY = `
@group(0) @binding(0) var<uniform> p: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x == 0u) { out[0] = out[0] + p.x; }
}`;

/** Milliseconds for one tiny dispatch followed by an awaited `onSubmittedWorkDone`. */
export async function roundTripMs(gpu: Gpu, reps = 30): Promise<number> {
  const buf = gpu.pool.acquire(256);
  const kernel = gpu.kernels.get({ name: "bench_round_trip", source: TINY, defines: { WG: 1 } });
  const ms = await timeMedian(async () => {
    gpu.kernels.recorder().dispatch({
      kernel,
      uniforms: [1, 0, 0, 0],
      bindings: [{ buffer: buf }],
      invocations: 1,
    })
      .submit();
    await gpu.sync();
  }, reps);
  gpu.pool.release(buf);
  return ms;
}

/** Upload bandwidth in GB/s: `writeBuffer` of `bytes` then an awaited sync. */
export async function uploadGBs(gpu: Gpu, bytes = 64 << 20, reps = 5): Promise<number> {
  const buf = gpu.pool.acquire(bytes);
  const host = new Uint8Array(bytes).fill(7);
  const ms = await timeMedian(
    async () => {
      gpu.device.queue.writeBuffer(buf, 0, host);
      await gpu.sync();
    },
    reps,
    1,
  );
  gpu.pool.release(buf);
  return bytes / ms / 1e6;
}

/** Readback bandwidth in GB/s: copy to a staging buffer and map it. */
export async function readbackGBs(gpu: Gpu, bytes = 64 << 20, reps = 5): Promise<number> {
  const buf = gpu.pool.acquire(bytes);
  const ms = await timeMedian(() => readBuffer(gpu, buf, 0, bytes), reps, 1);
  gpu.pool.release(buf);
  return bytes / ms / 1e6;
}

const FMA = `
@group(0) @binding(0) var<uniform> p: vec4<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let s = f32(i) * 1e-9;
  var a0 = vec4<f32>(s);
  var a1 = a0 + 0.1;
  var a2 = a0 + 0.2;
  var a3 = a0 + 0.3;
  var a4 = a0 + 0.4;
  var a5 = a0 + 0.5;
  var a6 = a0 + 0.6;
  var a7 = a0 + 0.7;
  let m = vec4<f32>(0.9999);
  let c = vec4<f32>(1e-4);
  for (var k = 0u; k < p.x; k++) {
    a0 = fma(a0, m, c);
    a1 = fma(a1, m, c);
    a2 = fma(a2, m, c);
    a3 = fma(a3, m, c);
    a4 = fma(a4, m, c);
    a5 = fma(a5, m, c);
    a6 = fma(a6, m, c);
    a7 = fma(a7, m, c);
  }
  if (i < p.y) {
    out[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
  }
}`;

/**
 * The adapter's arithmetic peak in GFLOP/s: an FMA-bound kernel (8 independent
 * vec4 FMA chains per invocation, no memory traffic in the loop), timed as
 * the median of `reps` runs after a warm-up. Every kernel's GFLOP/s is
 * reported as a fraction of this.
 */
export async function fmaPeakGflops(gpu: Gpu, reps = 5): Promise<number> {
  const invocations = 1 << 16, iterations = 2048;
  const buf = gpu.pool.acquire(invocations * 16);
  const kernel = gpu.kernels.get({ name: "bench_fma_peak", source: FMA, defines: { WG: 64 } });
  const ms = await timeMedian(async () => {
    gpu.kernels.recorder().dispatch({
      kernel,
      uniforms: [iterations, invocations, 0, 0],
      bindings: [{ buffer: buf }],
      invocations,
    }).submit();
    await gpu.sync();
  }, reps);
  gpu.pool.release(buf);
  return invocations * iterations * 8 * 4 * 2 / ms / 1e6;
}

const COPY = `
@group(0) @binding(0) var<uniform> p: vec4<u32>;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i < p.x) {
    dst[i] = src[i];
  }
}`;

/**
 * The adapter's memory bandwidth in GB/s: a kernel copying `bytes` (vec4 per
 * invocation) from one storage buffer to another, counting bytes read plus
 * bytes written, median of `reps` runs after a warm-up.
 */
export async function copyGBs(gpu: Gpu, bytes = 64 << 20, reps = 5): Promise<number> {
  const [src, dst] = [gpu.pool.acquire(bytes), gpu.pool.acquire(bytes)];
  const kernel = gpu.kernels.get({ name: "bench_copy", source: COPY, defines: { WG: 64 } });
  const n = bytes / 16;
  const ms = await timeMedian(async () => {
    gpu.kernels.recorder().dispatch({
      kernel,
      uniforms: [n, 0, 0, 0],
      bindings: [{ buffer: src }, { buffer: dst }],
      invocations: n,
    }).submit();
    await gpu.sync();
  }, reps);
  gpu.pool.release(src);
  gpu.pool.release(dst);
  return 2 * bytes / ms / 1e6;
}
