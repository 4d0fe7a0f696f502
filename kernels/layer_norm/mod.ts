/**
 * `layer_norm` kernel launcher: LayerNorm over the last dimension (eps 1e-5
 * by default, affine), windowed over rows, and its gradient
 * (`recordLayerNormBackward`).
 *
 * @module
 */

import source from "./layer_norm.wgsl" with { type: "text" };
import backwardSource from "./layer_norm_backward.wgsl" with { type: "text" };
import partialSource from "./layer_norm_backward_partial.wgsl" with { type: "text" };
import { recordBroadcastSum } from "../add_broadcast/mod.ts";
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

/** Options of {@linkcode recordLayerNormBackward}. */
export interface LayerNormBackwardOptions {
  /** The forward's eps (SegFormer's LayerNorms use 1e-5 or 1e-6). */
  eps: number;
}

/** Gradients of LayerNorm. */
export interface LayerNormGrads {
  dx: GpuTensor;
  dgamma: GpuTensor;
  dbeta: GpuTensor;
}

/**
 * Records the gradients of {@linkcode recordLayerNorm} over the last
 * dimension of `x` given the upstream gradient `dy` (x's shape): dx (x's
 * shape), dgamma and dbeta (C). The row statistics are recomputed; dgamma
 * and dbeta are summed over blocks of rows, then over the blocks.
 */
export function recordLayerNormBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  gamma: GpuTensor,
  dy: GpuTensor,
  o: LayerNormBackwardOptions,
): LayerNormGrads {
  const c = x.shape[x.shape.length - 1];
  if (gamma.size !== c || dy.shape.join() !== x.shape.join()) {
    throw new Error(`layer_norm backward: gamma ${gamma} and dy ${dy} do not match x ${x}`);
  }
  const rows = x.size / c;
  const perWindow = Math.floor((gpu.maxBinding - 256) / (c * 4));
  if (perWindow < 1) {
    throw new Error(`layer_norm backward: one row of ${x} exceeds the binding limit`);
  }
  const block = Math.max(1, Math.min(Math.ceil(Math.sqrt(rows)), perWindow));
  const blocks = Math.ceil(rows / block);
  if (rows * 8 > gpu.maxBinding || blocks * c * 8 > gpu.maxBinding) {
    throw new Error(`layer_norm backward: the row statistics of ${x} exceed the binding limit`);
  }
  const dx = emptyTensor(gpu, x.shape, "f32");
  const stats = emptyTensor(gpu, [rows, 2], "f32");
  const dxKernel = gpu.kernels.get({ name: "layer_norm_backward", source: backwardSource });
  for (let r0 = 0; r0 < rows; r0 += perWindow) {
    const n = Math.min(perWindow, rows - r0);
    const xw = bindWindow(x, r0 * c, n * c);
    const dyw = bindWindow(dy, r0 * c, n * c);
    const dxw = bindWindow(dx, r0 * c, n * c);
    rec.dispatch({
      kernel: dxKernel,
      uniforms: [n, c, xw.base, dyw.base, dxw.base, r0, f32bits(o.eps)],
      bindings: [xw.binding, gamma, dyw.binding, dxw.binding, stats],
      invocations: Math.ceil(n / 4),
    });
  }
  const parts = emptyTensor(gpu, [blocks, 2 * c], "f32");
  const partKernel = gpu.kernels.get({
    name: "layer_norm_backward_partial",
    source: partialSource,
  });
  const per = Math.floor(perWindow / block) * block;
  for (let r0 = 0; r0 < rows; r0 += per) {
    const n = Math.min(per, rows - r0);
    const xw = bindWindow(x, r0 * c, n * c);
    const dyw = bindWindow(dy, r0 * c, n * c);
    rec.dispatch({
      kernel: partKernel,
      uniforms: [n, c, block, xw.base, dyw.base, r0, r0 / block],
      bindings: [xw.binding, dyw.binding, stats, parts],
      invocations: Math.ceil(n / block) * Math.ceil(c / 4),
    });
  }
  const sums = recordBroadcastSum(gpu, rec, parts, [2 * c]);
  const dgamma = emptyTensor(gpu, gamma.shape, "f32");
  const dbeta = emptyTensor(gpu, gamma.shape, "f32");
  rec.copy(sums.buffer, 0, dgamma.buffer, 0, 4 * c);
  rec.copy(sums.buffer, 4 * c, dbeta.buffer, 0, 4 * c);
  for (const t of [stats, parts, sums]) t.release();
  return { dx, dgamma, dbeta };
}
