/**
 * `flatten_depth` kernel launcher: (B, C, D, H, W) -> (B, C, H, W) by max
 * (the seed) or mean over depth; and the gradient of the max for training
 * ({@linkcode recordFlattenMaxBackward}).
 *
 * @module
 */

import source from "./flatten_depth.wgsl" with { type: "text" };
import backwardSource from "./flatten_depth_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Depth reductions. */
export type DepthReduce = "max" | "mean";

/** Records the reduction of `x` (B, C, D, H, W) into a new (B, C, H, W) tensor. */
export function recordFlattenDepth(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  reduce: DepthReduce,
): GpuTensor {
  if (x.shape.length !== 5) throw new Error(`flatten_depth needs a 5D tensor, got ${x}`);
  const [b, c, d, h, w] = x.shape;
  const y = emptyTensor(gpu, [b, c, h, w], "f32");
  const kernel = gpu.kernels.get({
    name: "flatten_depth",
    source,
    defines: { REDUCE: reduce },
  });
  const plane = h * w;
  const stackBytes = d * plane * 4;
  const perChunk = Math.max(1, Math.floor((gpu.maxBinding - 256) / stackBytes));
  if (stackBytes + 256 > gpu.maxBinding) {
    throw new Error(`flatten_depth: one (D, H, W) stack of ${x} exceeds the binding limit`);
  }
  for (let s0 = 0; s0 < b * c; s0 += perChunk) {
    const n = Math.min(perChunk, b * c - s0);
    const input = bindWindow(x, s0 * d * plane, n * d * plane);
    const output = bindWindow(y, s0 * plane, n * plane);
    rec.dispatch({
      kernel,
      uniforms: [plane, d, n, input.base, output.base],
      bindings: [input.binding, output.binding],
      invocations: n * plane,
    });
  }
  return y;
}

/**
 * Records the gradient of the max over depth: given the forward input `x`
 * (B, C, D, H, W) and the upstream gradient `dy` (B, C, H, W), returns dx
 * (B, C, D, H, W) holding dy at the depth index of the maximum (the first one
 * on ties) and zeros elsewhere. Both tensors must fit in one storage binding.
 */
export function recordFlattenMaxBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`flatten_depth backward needs an f32 5D input, got ${x}`);
  }
  const [b, c, d, h, w] = x.shape;
  if (dy.dtype !== "f32" || dy.shape.join() !== [b, c, h, w].join()) {
    throw new Error(`flatten_depth backward: dy ${dy} does not match ${x} without depth`);
  }
  if (x.byteLength > gpu.maxBinding) {
    throw new Error(
      `flatten_depth backward: ${x} (${x.byteLength} bytes) exceeds the storage binding limit`,
    );
  }
  const dx = emptyTensor(gpu, x.shape, "f32");
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "flatten_depth_backward", source: backwardSource }),
    uniforms: [h * w, d, b * c],
    bindings: [x, dy, dx],
    invocations: b * c * h * w,
  });
  return dx;
}
