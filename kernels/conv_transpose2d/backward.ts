/**
 * `conv_transpose2d` backward launchers (channels-first, PyTorch
 * ConvTranspose2d: weight (Ci, Co, kh, kw), one stride and padding for both
 * axes). The input gradient of a transposed convolution is a plain
 * correlation of dy with the same weight, and its weight gradient is a
 * convolution weight gradient with the roles of x and dy swapped; both run
 * the general kernels of `conv3d/backward.ts` with depth 1.
 *
 * @module
 */

import type { Gpu } from "../device.ts";
import type { Recorder } from "../program.ts";
import type { GpuTensor } from "../tensor.ts";
import {
  checkBinding,
  checkShape,
  type Dims5,
  recordConvGather,
  recordConvWeightGrad,
} from "../conv3d/backward.ts";

/** Options of the conv_transpose2d backward launchers. */
export interface ConvTranspose2dBackwardOptions {
  stride: number;
  padding: number;
}

function geometry(
  op: string,
  inputShape: readonly number[],
  weightShape: readonly number[],
  o: ConvTranspose2dBackwardOptions,
): { x: Dims5; y: Dims5; k: [number, number, number] } {
  if (inputShape.length !== 4 || weightShape.length !== 4) {
    throw new Error(`${op}: input [${inputShape}] and weight [${weightShape}] must be 4D`);
  }
  const [n, ci, h, w] = inputShape;
  const [wci, co, kh, kw] = weightShape;
  if (wci !== ci) throw new Error(`${op}: weight [${weightShape}] does not match [${inputShape}]`);
  const ho = (h - 1) * o.stride - 2 * o.padding + kh;
  const wo = (w - 1) * o.stride - 2 * o.padding + kw;
  if (ho < 1 || wo < 1) throw new Error(`${op}: empty output for [${inputShape}]`);
  return { x: [n, ci, 1, h, w], y: [n, co, 1, ho, wo], k: [1, kh, kw] };
}

/**
 * Records the input gradient of a ConvTranspose2d: dy (N, Co, Ho, Wo) and
 * weight `w` (Ci, Co, kh, kw) -> a new dx of `inputShape` (N, Ci, H, W).
 */
export function recordConvTranspose2dBackwardInput(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  w: GpuTensor,
  inputShape: readonly number[],
  o: ConvTranspose2dBackwardOptions,
): GpuTensor {
  const op = "conv_transpose2d backward input";
  const g = geometry(op, inputShape, w.shape, o);
  checkShape(op, "dy", dy, [g.y[0], g.y[1], g.y[3], g.y[4]]);
  checkBinding(gpu, op, "dy", dy);
  checkBinding(gpu, op, "weight", w);
  const k = g.k[1] * g.k[2];
  // dx[n, i, q] = sum over o, t of dy[n, o, q·s - p + t] · w[i, o, t].
  return recordConvGather(gpu, rec, dy, w, inputShape, {
    mode: "fwd",
    src: g.y,
    out: g.x,
    k: g.k,
    s: [1, o.stride, o.stride],
    p: [0, o.padding, o.padding],
    groups: 1,
    wSo: g.y[1] * k,
    wSi: k,
    op,
  });
}

/**
 * Records the weight gradient of a ConvTranspose2d: x (N, Ci, H, W) and dy
 * (N, Co, Ho, Wo) -> a new dw of `weightShape` (Ci, Co, kh, kw).
 */
export function recordConvTranspose2dBackwardWeight(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  weightShape: readonly number[],
  o: ConvTranspose2dBackwardOptions,
): GpuTensor {
  const op = "conv_transpose2d backward weight";
  const g = geometry(op, x.shape, weightShape, o);
  checkShape(op, "dy", dy, [g.y[0], g.y[1], g.y[3], g.y[4]]);
  checkBinding(gpu, op, "x", x);
  checkBinding(gpu, op, "dy", dy);
  // dw[i, o, t] = sum over n, q of x[n, i, q] · dy[n, o, q·s - p + t].
  return recordConvWeightGrad(gpu, rec, x, dy, weightShape, {
    a: g.x,
    b: g.y,
    k: g.k,
    s: [1, o.stride, o.stride],
    p: [0, o.padding, o.padding],
    groups: 1,
    op,
  });
}
