/**
 * `batch_norm` kernel launcher: eval-mode BatchNorm2d (running statistics)
 * on channels-first tensors, optional fused ReLU, windowed over planes.
 *
 * @module
 */

import source from "./batch_norm.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** BatchNorm2d parameters and running statistics, (C) each, as in a PyTorch state dict. */
export interface BatchNormParams {
  weight: GpuTensor;
  bias: GpuTensor;
  runningMean: GpuTensor;
  runningVar: GpuTensor;
}

/** Options of {@linkcode recordBatchNorm}. */
export interface BatchNormOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Apply ReLU after the normalisation. */
  relu?: boolean;
}

/** Records BatchNorm of x (N, C, ...) into a new tensor. */
export function recordBatchNorm(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  bn: BatchNormParams,
  opts: BatchNormOptions = {},
): GpuTensor {
  const [n, c] = x.shape;
  const params = [bn.weight, bn.bias, bn.runningMean, bn.runningVar];
  if (params.some((t) => t.size !== c)) {
    throw new Error(`batch_norm: parameters must have ${c} elements, got ${params.join(", ")}`);
  }
  const plane = x.size / (n * c);
  const y = emptyTensor(gpu, x.shape, "f32");
  const kernel = gpu.kernels.get({ name: "batch_norm", source });
  const perWindow = Math.floor((gpu.maxBinding - 256) / (plane * 4));
  if (perWindow < 1) throw new Error(`batch_norm: one plane of ${x} exceeds the binding limit`);
  for (let p0 = 0; p0 < n * c; p0 += perWindow) {
    const planes = Math.min(perWindow, n * c - p0);
    const xw = bindWindow(x, p0 * plane, planes * plane);
    const yw = bindWindow(y, p0 * plane, planes * plane);
    rec.dispatch({
      kernel,
      uniforms: [
        planes,
        plane,
        c,
        p0,
        xw.base,
        yw.base,
        f32bits(opts.eps ?? 1e-5),
        opts.relu ? 1 : 0,
      ],
      bindings: [xw.binding, ...params, yw.binding],
      invocations: planes * Math.ceil(plane / 16),
    });
  }
  return y;
}
