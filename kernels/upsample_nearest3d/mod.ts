/**
 * `upsample_nearest3d` launcher: PyTorch `F.interpolate(x, size=(D', H', W'),
 * mode="nearest")` on (N, C, D, H, W) (pytorch-3dunet's decoder upsampling
 * to the skip connection's size). Tensors larger than the binding limit are
 * split into whole channel planes.
 *
 * @module
 */

import source from "./upsample_nearest3d.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import { checkPlane, planesPerWindow } from "../conv3d/mod.ts";

/** Records the nearest-neighbour resize of `x` (N, C, D, H, W) to `size` (D', H', W'). */
export function recordUpsampleNearest3d(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  size: readonly [number, number, number],
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`upsample_nearest3d needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  if (!size.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`upsample_nearest3d: invalid output size [${size}]`);
  }
  const [n, c, d, h, w] = x.shape;
  const [od, oh, ow] = size;
  const y = emptyTensor(gpu, [n, c, od, oh, ow], "f32");
  const kernel = gpu.kernels.get({ name: "upsample_nearest3d", source });
  const planeIn = d * h * w;
  const planeOut = od * oh * ow;
  checkPlane("upsample_nearest3d", x, planeIn, gpu.maxBinding);
  checkPlane("upsample_nearest3d", y, planeOut, gpu.maxBinding);
  const per = Math.min(
    planesPerWindow(planeIn, gpu.maxBinding),
    planesPerWindow(planeOut, gpu.maxBinding),
  );
  const scales = [d / od, h / oh, w / ow].map((s) => f32bits(Math.fround(s)));
  for (let p0 = 0; p0 < n * c; p0 += per) {
    const np = Math.min(per, n * c - p0);
    const input = bindWindow(x, p0 * planeIn, np * planeIn);
    const output = bindWindow(y, p0 * planeOut, np * planeOut);
    rec.dispatch({
      kernel,
      uniforms: [d, h, w, od, oh, ow, np, input.base, output.base, ...scales],
      bindings: [input.binding, output.binding],
      invocations: np * planeOut,
    });
  }
  return y;
}
