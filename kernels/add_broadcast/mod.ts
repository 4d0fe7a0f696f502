/**
 * `add_broadcast` kernel launcher: `a + b` where `b` (any shape whose size
 * divides `a`'s) repeats over `a`'s leading dimensions; `recordBroadcastSum`
 * is the gradient of `b`.
 *
 * @module
 */

import source from "./add_broadcast.wgsl" with { type: "text" };
import sumSource from "./broadcast_sum.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor, numel } from "../tensor.ts";

/** Records `y = a + b[i % b.size]` into a new tensor of `a`'s shape. */
export function recordAddBroadcast(gpu: Gpu, rec: Recorder, a: GpuTensor, b: GpuTensor): GpuTensor {
  if (a.size % b.size !== 0) throw new Error(`add_broadcast: ${b} does not repeat over ${a}`);
  const y = emptyTensor(gpu, a.shape, "f32");
  const kernel = gpu.kernels.get({ name: "add_broadcast", source });
  const per = Math.max(b.size, Math.floor((gpu.maxBinding - 256) / 4 / b.size) * b.size);
  for (let first = 0; first < a.size; first += per) {
    const n = Math.min(per, a.size - first);
    const aw = bindWindow(a, first, n);
    const yw = bindWindow(y, first, n);
    rec.dispatch({
      kernel,
      uniforms: [n, b.size, aw.base, yw.base, first],
      bindings: [aw.binding, b, yw.binding],
      invocations: n,
    });
  }
  return y;
}

/**
 * Records the gradient of `b` in `a + b` (see {@linkcode recordAddBroadcast}):
 * dy (a's shape) summed over the repeats of b, into a new tensor of shape
 * `bShape`. Large reductions run in two passes (sums over blocks of about
 * sqrt(repeats) rows, then over the blocks).
 */
export function recordBroadcastSum(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  bShape: readonly number[],
): GpuTensor {
  const nb = numel(bShape);
  if (dy.dtype !== "f32" || nb === 0 || dy.size % nb !== 0) {
    throw new Error(`broadcast_sum: [${bShape}] does not repeat over ${dy}`);
  }
  const db = emptyTensor(gpu, bShape, "f32");
  const rowsPerWindow = Math.floor((gpu.maxBinding - 256) / 4 / nb);
  let x = dy;
  for (;;) {
    const reps = x.size / nb;
    if (reps <= Math.min(64, rowsPerWindow)) {
      sumBlocks(gpu, rec, x, nb, reps, db);
      break;
    }
    const block = Math.min(Math.ceil(Math.sqrt(reps)), rowsPerWindow);
    if (block < 2) {
      throw new Error(`broadcast_sum: rows of ${nb} elements exceed the binding limit`);
    }
    const parts = sumBlocks(gpu, rec, x, nb, block);
    if (x !== dy) x.release();
    x = parts;
  }
  if (x !== dy) x.release();
  return db;
}

/**
 * Records the sums of x (reps, nb) over blocks of `block` rows (at most a
 * window's rows) into `into` (or a new (blocks, nb) tensor), windowed over
 * whole blocks.
 */
function sumBlocks(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  nb: number,
  block: number,
  into?: GpuTensor,
): GpuTensor {
  const reps = x.size / nb;
  const rowsPerWindow = Math.floor((gpu.maxBinding - 256) / 4 / nb);
  const blocks = Math.ceil(reps / block);
  if (blocks * nb * 4 > gpu.maxBinding) {
    throw new Error(`broadcast_sum: the partial sums of ${x} exceed the binding limit`);
  }
  const y = into ?? emptyTensor(gpu, [blocks, nb], "f32");
  const kernel = gpu.kernels.get({ name: "broadcast_sum", source: sumSource });
  const per = Math.floor(rowsPerWindow / block) * block;
  for (let r0 = 0; r0 < reps; r0 += per) {
    const n = Math.min(per, reps - r0);
    const xw = bindWindow(x, r0 * nb, n * nb);
    rec.dispatch({
      kernel,
      uniforms: [nb, n, block, xw.base, r0 / block],
      bindings: [xw.binding, y],
      invocations: Math.ceil(n / block) * nb,
    });
  }
  return y;
}
