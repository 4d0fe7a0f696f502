/**
 * `flatten_depth` kernel launcher: (B, C, D, H, W) -> (B, C, H, W) by max
 * (the seed) or mean over depth.
 *
 * @module
 */

import source from "./flatten_depth.wgsl" with { type: "text" };
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
