/**
 * `conv_transpose3d` backward launchers for kernel 2, stride 2, padding 0
 * (MONAI UNETR's up-sampling), channels-first, weight (Ci, Co, 2, 2, 2) as
 * PyTorch stores it. The input gradient is a stride-2 correlation of dy with
 * the same weight and the weight gradient a convolution weight gradient
 * with x and dy swapped, on the general kernels of `conv3d/backward.ts`.
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

function geometry(
  op: string,
  inputShape: readonly number[],
  weightShape: readonly number[],
): { x: Dims5; y: Dims5 } {
  if (inputShape.length !== 5 || weightShape.length !== 5) {
    throw new Error(`${op}: input [${inputShape}] and weight [${weightShape}] must be 5D`);
  }
  const [n, ci, d, h, w] = inputShape;
  const [wci, co, kd, kh, kw] = weightShape;
  if (kd !== 2 || kh !== 2 || kw !== 2) {
    throw new Error(`${op}: weight [${weightShape}] must be (Ci, Co, 2, 2, 2)`);
  }
  if (wci !== ci) throw new Error(`${op}: weight [${weightShape}] does not match [${inputShape}]`);
  return { x: [n, ci, d, h, w], y: [n, co, 2 * d, 2 * h, 2 * w] };
}

const K2: [number, number, number] = [2, 2, 2];
const P0: [number, number, number] = [0, 0, 0];

/**
 * Records the input gradient of a ConvTranspose3d (kernel 2, stride 2): dy
 * (N, Co, 2D, 2H, 2W) and weight `w` (Ci, Co, 2, 2, 2) -> a new dx of
 * `inputShape` (N, Ci, D, H, W).
 */
export function recordConvTranspose3dBackwardInput(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  w: GpuTensor,
  inputShape: readonly number[],
): GpuTensor {
  const op = "conv_transpose3d backward input";
  const g = geometry(op, inputShape, w.shape);
  checkShape(op, "dy", dy, g.y);
  checkBinding(gpu, op, "dy", dy);
  checkBinding(gpu, op, "weight", w);
  return recordConvGather(gpu, rec, dy, w, inputShape, {
    mode: "fwd",
    src: g.y,
    out: g.x,
    k: K2,
    s: K2,
    p: P0,
    groups: 1,
    wSo: g.y[1] * 8,
    wSi: 8,
    op,
  });
}

/**
 * Records the weight gradient of a ConvTranspose3d (kernel 2, stride 2): x
 * (N, Ci, D, H, W) and dy (N, Co, 2D, 2H, 2W) -> a new dw of `weightShape`
 * (Ci, Co, 2, 2, 2).
 */
export function recordConvTranspose3dBackwardWeight(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  weightShape: readonly number[],
): GpuTensor {
  const op = "conv_transpose3d backward weight";
  const g = geometry(op, x.shape, weightShape);
  checkShape(op, "dy", dy, g.y);
  checkBinding(gpu, op, "x", x);
  checkBinding(gpu, op, "dy", dy);
  return recordConvWeightGrad(gpu, rec, x, dy, weightShape, {
    a: g.x,
    b: g.y,
    k: K2,
    s: K2,
    p: P0,
    groups: 1,
    op,
  });
}
