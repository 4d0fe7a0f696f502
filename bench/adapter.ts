/**
 * The adapter's own floors and ceilings: the cost of one awaited round
 * trip, and upload and readback bandwidth.
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
