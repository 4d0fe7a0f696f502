/**
 * `cast` launcher: converts tensors between f32 and f16 (the mixed-precision
 * path's operands and results). f32 -> f16 rounds to nearest even and
 * overflows to ±inf (NaN to +inf), never to the largest finite f16, so an overflowed loss
 * scale shows up in the gradients. Needs the `shader-f16` feature.
 *
 * @module
 */

import source from "./cast.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Records `x` converted to `dtype` ("f32" or "f16"); returns a new tensor of x's shape. */
export function recordCast(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dtype: "f32" | "f16",
): GpuTensor {
  if ((x.dtype !== "f32" && x.dtype !== "f16") || x.dtype === dtype) {
    throw new Error(`cast: converts between f32 and f16, got ${x} to ${dtype}`);
  }
  if (!gpu.device.features.has("shader-f16")) {
    throw new Error("cast: f16 tensors need the shader-f16 feature, which this adapter lacks");
  }
  const y = emptyTensor(gpu, x.shape, dtype);
  const toF16 = dtype === "f16";
  const kernel = gpu.kernels.get({
    name: "cast",
    source,
    defines: { SRC: x.dtype, DST: dtype, TO_F16: toF16 ? "true" : "false" },
  });
  // Windows of whole 256-byte blocks of the wider (f32) side, so each starts at element 0.
  const per = Math.max(64, Math.floor(gpu.maxBinding / 256) * 64);
  for (let e0 = 0; e0 < x.size; e0 += per) {
    const count = Math.min(per, x.size - e0);
    const wx = bindWindow(x, e0, count), wy = bindWindow(y, e0, count);
    rec.dispatch({
      kernel,
      uniforms: [count, wx.base, wy.base],
      bindings: [wx.binding, wy.binding],
      invocations: Math.ceil(count / 4),
    });
  }
  return y;
}

/** Host reference: f32 values rounded to f16 (nearest even, overflow to ±inf). */
export function castRef(x: Float32Array): Float32Array {
  return new Float32Array(new Float16Array(x));
}
