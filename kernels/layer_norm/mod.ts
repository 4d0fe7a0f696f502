/**
 * `layer_norm` kernel launcher: LayerNorm over the last dimension (eps 1e-5
 * by default, affine), windowed over rows.
 *
 * @module
 */

import source from "./layer_norm.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Options of {@linkcode recordLayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5, PyTorch's and SegFormer's). */
  eps?: number;
}

/** Records LayerNorm of `x` (..., C) with `gamma` and `beta` (C) into a new tensor. */
export function recordLayerNorm(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  gamma: GpuTensor,
  beta: GpuTensor,
  opts: LayerNormOptions = {},
): GpuTensor {
  const c = x.shape[x.shape.length - 1];
  if (gamma.size !== c || beta.size !== c) {
    throw new Error(`layer_norm: gamma ${gamma} and beta ${beta} must have ${c} elements`);
  }
  const rows = x.size / c;
  const y = emptyTensor(gpu, x.shape, "f32");
  const kernel = gpu.kernels.get({ name: "layer_norm", source });
  const perWindow = Math.floor((gpu.maxBinding - 256) / (c * 4));
  if (perWindow < 1) throw new Error(`layer_norm: one row of ${x} exceeds the binding limit`);
  for (let r0 = 0; r0 < rows; r0 += perWindow) {
    const n = Math.min(perWindow, rows - r0);
    const xw = bindWindow(x, r0 * c, n * c);
    const yw = bindWindow(y, r0 * c, n * c);
    rec.dispatch({
      kernel,
      uniforms: [n, c, xw.base, yw.base, f32bits(opts.eps ?? 1e-5)],
      bindings: [xw.binding, gamma, beta, yw.binding],
      invocations: Math.ceil(n / 4),
    });
  }
  return y;
}
