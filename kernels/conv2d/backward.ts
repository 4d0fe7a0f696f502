/**
 * `conv2d` backward launchers (channels-first only, PyTorch semantics: zero
 * padding, weight (Co, Ci/groups, kh, kw), floor output sizes). They run the
 * general gather and weight-gradient kernels of `conv3d/backward.ts` with
 * depth 1; groups may be 1 (dense) or any divisor of both channel counts
 * (depthwise: groups = C).
 *
 * @module
 */

import type { Gpu } from "../device.ts";
import type { Recorder } from "../program.ts";
import type { GpuTensor } from "../tensor.ts";
import {
  checkBinding,
  checkShape,
  convOut,
  type Dims5,
  recordConvGather,
  recordConvWeightGrad,
} from "../conv3d/backward.ts";

/** Options of the conv2d backward launchers. */
export interface Conv2dBackwardOptions {
  stride: [number, number];
  padding: [number, number];
  groups: number;
}

/** Checks a conv2d's shapes; returns its dims (depth 1) and kernel. */
function geometry(
  op: string,
  inputShape: readonly number[],
  weightShape: readonly number[],
  o: Conv2dBackwardOptions,
): { x: Dims5; y: Dims5; k: [number, number, number] } {
  if (inputShape.length !== 4 || weightShape.length !== 4) {
    throw new Error(`${op}: input [${inputShape}] and weight [${weightShape}] must be 4D`);
  }
  const [n, ci, h, w] = inputShape;
  const [co, cig, kh, kw] = weightShape;
  const groups = o.groups;
  if (!Number.isInteger(groups) || groups < 1 || ci % groups !== 0 || co % groups !== 0) {
    throw new Error(`${op}: groups ${groups} must divide ${ci} inputs and ${co} outputs`);
  }
  if (cig !== ci / groups) {
    throw new Error(
      `${op}: weight [${weightShape}] does not match [${inputShape}], groups ${groups}`,
    );
  }
  const ho = convOut(h, kh, o.stride[0], o.padding[0]);
  const wo = convOut(w, kw, o.stride[1], o.padding[1]);
  if (ho < 1 || wo < 1) throw new Error(`${op}: kernel ${kh}x${kw} larger than padded input`);
  return { x: [n, ci, 1, h, w], y: [n, co, 1, ho, wo], k: [1, kh, kw] };
}

/**
 * Records the input gradient of a Conv2d: dy (N, Co, Ho, Wo) and weight `w`
 * (Co, Ci/groups, kh, kw) -> a new dx of `inputShape` (N, Ci, H, W).
 */
export function recordConv2dBackwardInput(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  w: GpuTensor,
  inputShape: readonly number[],
  o: Conv2dBackwardOptions,
): GpuTensor {
  const op = "conv2d backward input";
  const g = geometry(op, inputShape, w.shape, o);
  checkShape(op, "dy", dy, [g.y[0], g.y[1], g.y[3], g.y[4]]);
  checkBinding(gpu, op, "dy", dy);
  checkBinding(gpu, op, "weight", w);
  const k = g.k[1] * g.k[2];
  return recordConvGather(gpu, rec, dy, w, inputShape, {
    mode: "tr",
    src: g.y,
    out: g.x,
    k: g.k,
    s: [1, ...o.stride],
    p: [0, ...o.padding],
    groups: o.groups,
    wSo: k,
    wSi: (g.x[1] / o.groups) * k,
    op,
  });
}

/**
 * Records the weight gradient of a Conv2d: x (N, Ci, H, W) and dy
 * (N, Co, Ho, Wo) -> a new dw of `weightShape` (Co, Ci/groups, kh, kw).
 */
export function recordConv2dBackwardWeight(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  weightShape: readonly number[],
  o: Conv2dBackwardOptions,
): GpuTensor {
  const op = "conv2d backward weight";
  const g = geometry(op, x.shape, weightShape, o);
  checkShape(op, "dy", dy, [g.y[0], g.y[1], g.y[3], g.y[4]]);
  checkBinding(gpu, op, "x", x);
  checkBinding(gpu, op, "dy", dy);
  return recordConvWeightGrad(gpu, rec, dy, x, weightShape, {
    a: g.y,
    b: g.x,
    k: g.k,
    s: [1, ...o.stride],
    p: [0, ...o.padding],
    groups: o.groups,
    op,
  });
}
