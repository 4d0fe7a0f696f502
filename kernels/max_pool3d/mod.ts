/**
 * `max_pool3d` launcher: PyTorch `MaxPool3d(kernel_size=2)` (stride 2, no
 * padding, floor): (N, C, D, H, W) -> (N, C, D/2, H/2, W/2). Tensors larger
 * than the binding limit are split into whole channel planes. For training,
 * {@linkcode recordMaxPool3dBackward} routes the gradient to each window's
 * first maximum.
 *
 * @module
 */

import source from "./max_pool3d.wgsl" with { type: "text" };
import backwardSource from "./max_pool3d_backward.wgsl" with { type: "text" };
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

/**
 * Records the gradient of {@linkcode recordMaxPool3d}: given the forward input
 * `x` (N, C, D, H, W) and the upstream gradient `dy` (N, C, D/2, H/2, W/2),
 * returns dx (N, C, D, H, W) holding each dy at its window's maximum (the
 * first in depth, height, width order on ties, as PyTorch scans) and zeros
 * elsewhere, including the rows a floored odd size leaves out. Both tensors
 * must fit in one storage binding.
 */
export function recordMaxPool3dBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`max_pool3d backward needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  const [n, c, d, h, w] = x.shape;
  const [od, oh, ow] = [d >> 1, h >> 1, w >> 1];
  if (od < 1 || oh < 1 || ow < 1) {
    throw new Error(`max_pool3d backward: ${x} is smaller than 2x2x2`);
  }
  if (dy.dtype !== "f32" || dy.shape.join() !== [n, c, od, oh, ow].join()) {
    throw new Error(`max_pool3d backward: dy ${dy} does not match the pooled shape of ${x}`);
  }
  if (x.byteLength > gpu.maxBinding) {
    throw new Error(
      `max_pool3d backward: ${x} (${x.byteLength} bytes) exceeds the storage binding limit`,
    );
  }
  const dx = emptyTensor(gpu, x.shape, "f32");
  if (d % 2 || h % 2 || w % 2) rec.clear(dx.buffer, 0, dx.byteLength);
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "max_pool3d_backward", source: backwardSource }),
    uniforms: [d, h, w, od, oh, ow, n * c],
    bindings: [x, dy, dx],
    invocations: n * c * od * oh * ow,
  });
  return dx;
}
