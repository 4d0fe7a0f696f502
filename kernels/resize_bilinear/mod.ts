/**
 * `resize_bilinear` kernel launcher: PyTorch bilinear interpolation
 * (align_corners=False, no antialias) of channels-first images, optionally
 * written straight into a channel slice of a larger tensor (SegFormer's
 * decode head upsamples each stage into its slot of the 4·768-channel
 * concatenation, saving the concat copy). `recordResizeBilinearBackward` is
 * its gradient, a gather (no atomics).
 *
 * @module
 */

import source from "./resize_bilinear.wgsl" with { type: "text" };
import backwardSource from "./resize_bilinear_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Options of {@linkcode recordResizeBilinear}. */
export interface ResizeOptions {
  /**
   * Write into this existing (N, C', H2, W2) tensor at channels
   * [channelOffset, channelOffset + C) instead of a new tensor.
   */
  into?: { tensor: GpuTensor; channelOffset: number };
}

/**
 * Records the resize of x (N, C, H, W) to (N, C, size[0], size[1]) and
 * returns the output tensor (`opts.into`'s tensor when given).
 */
export function recordResizeBilinear(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  size: [number, number],
  opts: ResizeOptions = {},
): GpuTensor {
  if (x.shape.length !== 4) {
    throw new Error(`resize_bilinear: input must be (N, C, H, W), got ${x}`);
  }
  const [n, c, h, w] = x.shape;
  const [h2, w2] = size;
  const y = opts.into?.tensor ?? emptyTensor(gpu, [n, c, h2, w2], "f32");
  const [yn, yc, yh, yw] = y.shape;
  const coff = opts.into?.channelOffset ?? 0;
  if (yn !== n || yh !== h2 || yw !== w2 || coff + c > yc) {
    throw new Error(`resize_bilinear: output ${y} cannot hold ${c} channels at ${coff}`);
  }
  const kernel = gpu.kernels.get({ name: "resize_bilinear", source });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const perWindow = Math.min(c, Math.floor(limit / Math.max(h * w, h2 * w2)));
  if (perWindow < 1) throw new Error(`resize_bilinear: one plane exceeds the binding limit`);
  for (let b = 0; b < n; b++) {
    for (let c0 = 0; c0 < c; c0 += perWindow) {
      const planes = Math.min(perWindow, c - c0);
      const xw = bindWindow(x, (b * c + c0) * h * w, planes * h * w);
      const ow = bindWindow(y, (b * yc + coff + c0) * h2 * w2, planes * h2 * w2);
      rec.dispatch({
        kernel,
        uniforms: [
          planes,
          h,
          w,
          h2,
          w2,
          f32bits(Math.fround(h / h2)),
          f32bits(Math.fround(w / w2)),
          xw.base,
          ow.base,
        ],
        bindings: [xw.binding, ow.binding],
        invocations: planes * h2 * Math.ceil(w2 / 4),
      });
    }
  }
  return y;
}

/**
 * Records the gradient of {@linkcode recordResizeBilinear} (align_corners
 * False, any scale): dy (N, C, H2, W2) gathered into a new tensor of
 * `inputShape` (N, C, H, W).
 */
export function recordResizeBilinearBackward(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  inputShape: readonly number[],
): GpuTensor {
  if (dy.shape.length !== 4 || inputShape.length !== 4) {
    throw new Error(`resize_bilinear backward: dy ${dy} and [${inputShape}] must be (N, C, H, W)`);
  }
  const [n, c, h, w] = inputShape;
  const [dn, dc, h2, w2] = dy.shape;
  if (dn !== n || dc !== c) {
    throw new Error(`resize_bilinear backward: dy ${dy} does not match input [${inputShape}]`);
  }
  const dx = emptyTensor(gpu, inputShape, "f32");
  const kernel = gpu.kernels.get({ name: "resize_bilinear_backward", source: backwardSource });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const planes = n * c;
  const perWindow = Math.min(planes, Math.floor(limit / Math.max(h * w, h2 * w2)));
  if (perWindow < 1) {
    throw new Error(`resize_bilinear backward: one plane of ${dy} exceeds the binding limit`);
  }
  for (let p0 = 0; p0 < planes; p0 += perWindow) {
    const np = Math.min(perWindow, planes - p0);
    const dyw = bindWindow(dy, p0 * h2 * w2, np * h2 * w2);
    const dxw = bindWindow(dx, p0 * h * w, np * h * w);
    rec.dispatch({
      kernel,
      uniforms: [
        np,
        h,
        w,
        h2,
        w2,
        f32bits(Math.fround(h / h2)),
        f32bits(Math.fround(w / w2)),
        f32bits(h2 / h),
        f32bits(w2 / w),
        dyw.base,
        dxw.base,
      ],
      bindings: [dyw.binding, dxw.binding],
      invocations: np * h * Math.ceil(w / 4),
    });
  }
  return dx;
}
