/**
 * `gelu` kernel launcher: exact (erf) GELU elementwise, windowed over the
 * flat element range. `GELU_WGSL` holds the `gelu` function for kernels
 * that fuse it. `recordGeluBackward` is its gradient.
 *
 * @module
 */

import fnSource from "./gelu_fn.wgsl" with { type: "text" };
import mainSource from "./gelu.wgsl" with { type: "text" };
import backwardSource from "./gelu_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** WGSL source of `fn gelu(x: f32) -> f32`, to prepend to fusing kernels. */
export const GELU_WGSL: string = fnSource;

/** Records y = gelu(x) into a new tensor of x's shape. */
export function recordGelu(gpu: Gpu, rec: Recorder, x: GpuTensor): GpuTensor {
  const y = emptyTensor(gpu, x.shape, "f32");
  const perWindow = Math.floor((gpu.maxBinding - 256) / 16) * 4;
  for (let e0 = 0; e0 < x.size; e0 += perWindow) {
    const n = Math.min(perWindow, x.size - e0);
    const xw = bindWindow(x, e0, n);
    const yw = bindWindow(y, e0, n);
    // vec4 loads and stores where the window offsets and the count allow (a vec4 load costs
    // about two scalar ones on llvmpipe).
    const vec = n % 4 === 0 && xw.base % 4 === 0 && yw.base % 4 === 0;
    const unit = vec ? 4 : 1;
    const kernel = gpu.kernels.get({
      name: "gelu",
      source: fnSource + mainSource,
      defines: vec
        ? { UNIT: "vec4<f32>", FN: "gelu4", PER: 1 }
        : { UNIT: "f32", FN: "gelu", PER: 4 },
    });
    rec.dispatch({
      kernel,
      uniforms: [n / unit, xw.base / unit, yw.base / unit],
      bindings: [xw.binding, yw.binding],
      invocations: Math.ceil(n / 4),
    });
  }
  return y;
}

/** Records dx = dy · gelu'(x) (exact erf GELU) into a new tensor of x's shape. */
export function recordGeluBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
): GpuTensor {
  if (x.shape.join() !== dy.shape.join() || x.dtype !== "f32" || dy.dtype !== "f32") {
    throw new Error(`gelu backward: x ${x} and dy ${dy} must be f32 tensors of one shape`);
  }
  const dx = emptyTensor(gpu, x.shape, "f32");
  const kernel = gpu.kernels.get({ name: "gelu_backward", source: backwardSource });
  const perWindow = Math.floor((gpu.maxBinding - 256) / 16) * 4;
  for (let e0 = 0; e0 < x.size; e0 += perWindow) {
    const n = Math.min(perWindow, x.size - e0);
    const xw = bindWindow(x, e0, n);
    const dyw = bindWindow(dy, e0, n);
    const dxw = bindWindow(dx, e0, n);
    rec.dispatch({
      kernel,
      uniforms: [n, xw.base, dyw.base, dxw.base],
      bindings: [xw.binding, dyw.binding, dxw.binding],
      invocations: Math.ceil(n / 4),
    });
  }
  return dx;
}
