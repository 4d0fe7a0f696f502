/**
 * `upsample_nearest3d` launcher: PyTorch `F.interpolate(x, size=(D', H', W'),
 * mode="nearest")` on (N, C, D, H, W) (pytorch-3dunet's decoder upsampling
 * to the skip connection's size). Tensors larger than the binding limit are
 * split into whole channel planes. For training,
 * {@linkcode recordUpsampleNearest3dBackward} sums the gradient back.
 *
 * @module
 */

import source from "./upsample_nearest3d.wgsl" with { type: "text" };
import backwardSource from "./upsample_nearest3d_backward.wgsl" with { type: "text" };
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

/**
 * Records the gradient of {@linkcode recordUpsampleNearest3d}: given the
 * upstream gradient `dy` (N, C, D', H', W') and the forward input's shape
 * (N, C, D, H, W), returns dx holding, for each input cell, the sum of dy over
 * the output cells that copy it (ATen's nearest index rule, as the forward).
 * Both tensors must fit in one storage binding.
 */
export function recordUpsampleNearest3dBackward(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  inputShape: readonly number[],
): GpuTensor {
  const op = "upsample_nearest3d backward";
  if (dy.shape.length !== 5 || dy.dtype !== "f32") {
    throw new Error(`${op} needs an f32 (N, C, D, H, W) gradient, got ${dy}`);
  }
  if (
    inputShape.length !== 5 || !inputShape.every((s) => Number.isInteger(s) && s >= 1) ||
    inputShape[0] !== dy.shape[0] || inputShape[1] !== dy.shape[1]
  ) {
    throw new Error(`${op}: input shape [${inputShape}] does not match ${dy}`);
  }
  const [n, c, d, h, w] = inputShape;
  const [, , od, oh, ow] = dy.shape;
  const sizes: [string, number][] = [[`${dy}`, dy.byteLength], [
    `f32[${inputShape}]`,
    4 * n * c * d * h * w,
  ]];
  for (const [what, bytes] of sizes) {
    if (bytes > gpu.maxBinding) {
      throw new Error(`${op}: ${what} (${bytes} bytes) exceeds the storage binding limit`);
    }
  }
  const dx = emptyTensor(gpu, inputShape, "f32");
  const scales = [d / od, h / oh, w / ow].map((s) => f32bits(Math.fround(s)));
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "upsample_nearest3d_backward", source: backwardSource }),
    uniforms: [d, h, w, od, oh, ow, n * c, ...scales],
    bindings: [dy, dx],
    invocations: dx.size,
  });
  return dx;
}
