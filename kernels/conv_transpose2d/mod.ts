/**
 * `conv_transpose2d` kernel launcher: PyTorch ConvTranspose2d (weight
 * (Ci, Co, kh, kw), stride, padding, optional bias) on channels-first
 * images, windowed over batch items. The seed's upscalers are
 * ConvTranspose2d(L, L, 4, stride 2, padding 1).
 *
 * @module
 */

import source from "./conv_transpose2d.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Options of {@linkcode recordConvTranspose2d}. */
export interface ConvTranspose2dOptions {
  stride: number;
  padding: number;
}

/** Records y = conv_transpose2d(x, weight, bias) for x (N, Ci, H, W) into a new tensor. */
export function recordConvTranspose2d(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  opts: ConvTranspose2dOptions,
): GpuTensor {
  if (x.shape.length !== 4) throw new Error(`conv_transpose2d: input must be 4D, got ${x}`);
  const [n, ci, h, w] = x.shape;
  const [wci, co, kh, kw] = weight.shape;
  if (wci !== ci) throw new Error(`conv_transpose2d: weight ${weight} does not match ${x}`);
  if (bias && bias.size !== co) throw new Error(`conv_transpose2d: bias ${bias} is not (${co})`);
  const { stride: s, padding: pad } = opts;
  const ho = (h - 1) * s - 2 * pad + kh;
  const wo = (w - 1) * s - 2 * pad + kw;
  if (ho <= 0 || wo <= 0) throw new Error(`conv_transpose2d: empty output for ${x}`);
  const y = emptyTensor(gpu, [n, co, ho, wo], "f32");
  const kernel = gpu.kernels.get({ name: "conv_transpose2d", source });
  const inItem = ci * h * w, outItem = co * ho * wo;
  const perWindow = Math.floor((gpu.maxBinding - 256) / (4 * Math.max(inItem, outItem)));
  if (perWindow < 1) throw new Error(`conv_transpose2d: one batch item exceeds the binding limit`);
  const lanes = Math.ceil(co / 4) * ho * s * Math.ceil(Math.ceil(wo / s) / 4);
  for (let n0 = 0; n0 < n; n0 += perWindow) {
    const items = Math.min(perWindow, n - n0);
    const xw = bindWindow(x, n0 * inItem, items * inItem);
    const yw = bindWindow(y, n0 * outItem, items * outItem);
    rec.dispatch({
      kernel,
      uniforms: [items, ci, co, h, w, ho, wo, kh, kw, s, pad, xw.base, yw.base, bias ? 1 : 0],
      bindings: [xw.binding, weight, bias ?? weight, yw.binding],
      invocations: items * lanes,
    });
  }
  return y;
}

export {
  type ConvTranspose2dBackwardOptions,
  recordConvTranspose2dBackwardInput,
  recordConvTranspose2dBackwardWeight,
} from "./backward.ts";
