/**
 * `max_pool3d` launcher: PyTorch `MaxPool3d(kernel_size=2)` (stride 2, no
 * padding, floor): (N, C, D, H, W) -> (N, C, D/2, H/2, W/2). Tensors larger
 * than the binding limit are split into whole channel planes.
 *
 * @module
 */

import source from "./max_pool3d.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import { checkPlane, planesPerWindow } from "../conv3d/mod.ts";

/** Records 2x2x2 max pooling of `x` (N, C, D, H, W) into a new tensor. */
export function recordMaxPool3d(gpu: Gpu, rec: Recorder, x: GpuTensor): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`max_pool3d needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  const [n, c, d, h, w] = x.shape;
  const [od, oh, ow] = [d >> 1, h >> 1, w >> 1];
  if (od < 1 || oh < 1 || ow < 1) throw new Error(`max_pool3d: ${x} is smaller than 2x2x2`);
  const y = emptyTensor(gpu, [n, c, od, oh, ow], "f32");
  const kernel = gpu.kernels.get({ name: "max_pool3d", source });
  const planeIn = d * h * w;
  const planeOut = od * oh * ow;
  checkPlane("max_pool3d", x, planeIn, gpu.maxBinding);
  const per = Math.min(
    planesPerWindow(planeIn, gpu.maxBinding),
    planesPerWindow(planeOut, gpu.maxBinding),
  );
  for (let p0 = 0; p0 < n * c; p0 += per) {
    const np = Math.min(per, n * c - p0);
    const input = bindWindow(x, p0 * planeIn, np * planeIn);
    const output = bindWindow(y, p0 * planeOut, np * planeOut);
    rec.dispatch({
      kernel,
      uniforms: [d, h, w, od, oh, ow, np, input.base, output.base],
      bindings: [input.binding, output.binding],
      invocations: np * planeOut,
    });
  }
  return y;
}
