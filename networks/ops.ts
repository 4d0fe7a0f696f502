/**
 * The operations networks are written in: one method per kernel launcher,
 * all recording onto one {@linkcode Recorder}, with tensors released as soon
 * as their last reader is recorded. This is the one place the network code
 * meets the kernels (and where an autograd tape will hook in).
 *
 * Layouts: images and volumes channels-first, (N, C, [D,] H, W); token
 * sequences (B, T, C).
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import type { Recorder } from "../kernels/program.ts";
import type { GpuTensor } from "../kernels/tensor.ts";

/** Spatial arguments of a convolution, per axis or one value for all. */
export interface ConvOptions {
  stride?: number | number[];
  padding?: number | number[];
  groups?: number;
}

/** Activations that norms can apply on their output. */
export type Activation = "none" | "relu" | { leakyRelu: number };

/** The operations a forward pass records. */
/** What one dropout draw zeroes: an element, a batch item, or one channel of a batch item. */
export type DropoutUnit = "element" | "sample" | "channel";

export interface Ops {
  readonly gpu: Gpu;
  readonly rec: Recorder;
  conv3d(x: GpuTensor, w: GpuTensor, b: GpuTensor | undefined, o?: ConvOptions): GpuTensor;
  convTranspose3d(x: GpuTensor, w: GpuTensor, stride: number): GpuTensor;
  /** GroupNorm (affine when gamma/beta given); InstanceNorm is groups = C without affine. */
  groupNorm(
    x: GpuTensor,
    groups: number,
    gamma?: GpuTensor,
    beta?: GpuTensor,
    act?: Activation,
  ): GpuTensor;
  maxPool3d(x: GpuTensor): GpuTensor;
  upsampleNearest3d(x: GpuTensor, size: [number, number, number]): GpuTensor;
  concat(xs: GpuTensor[]): GpuTensor;
  add(a: GpuTensor, b: GpuTensor): GpuTensor;
  /** a + b where b's elements repeat over a's leading dims (position embeddings, biases). */
  addBroadcast(a: GpuTensor, b: GpuTensor): GpuTensor;
  relu(x: GpuTensor): GpuTensor;
  leakyRelu(x: GpuTensor, slope: number): GpuTensor;
  conv2d(x: GpuTensor, w: GpuTensor, b: GpuTensor | undefined, o?: ConvOptions): GpuTensor;
  convTranspose2d(
    x: GpuTensor,
    w: GpuTensor,
    b: GpuTensor | undefined,
    stride: number,
    padding: number,
  ): GpuTensor;
  /** Y = X Wᵀ + b over the last dim; W in PyTorch Linear layout (out, in). */
  linear(x: GpuTensor, w: GpuTensor, b?: GpuTensor): GpuTensor;
  /** A 1x1 convolution on (N, C, H, W); W is (Co, Ci, 1, 1). */
  conv1x1(x: GpuTensor, w: GpuTensor, b?: GpuTensor): GpuTensor;
  layerNorm(x: GpuTensor, gamma: GpuTensor, beta: GpuTensor, eps?: number): GpuTensor;
  gelu(x: GpuTensor): GpuTensor;
  /**
   * Training-only dropout with probability `p` of single elements
   * ("element", the default), of whole batch items ("sample": drop-path,
   * stochastic depth) or of whole channels of a sample ("channel":
   * Dropout2d/3d). Inference ops return `x` itself, so a caller frees `x`
   * only when the result is another tensor.
   */
  dropout(x: GpuTensor, p: number, unit?: DropoutUnit): GpuTensor;
  /** Multi-head attention on (B, T, H*dh) tensors. */
  attention(q: GpuTensor, k: GpuTensor, v: GpuTensor, heads: number): GpuTensor;
  resizeBilinear(x: GpuTensor, size: [number, number]): GpuTensor;
  batchNorm(
    x: GpuTensor,
    gamma: GpuTensor,
    beta: GpuTensor,
    mean: GpuTensor,
    variance: GpuTensor,
    act?: Activation,
  ): GpuTensor;
  /** (B, M, N) -> (B, N, M), reshaped to `shape`. */
  transpose(x: GpuTensor, shape: number[]): GpuTensor;
  /** The seed's max over depth: (N, C, D, H, W) -> (N, C, H, W). */
  flattenMax(x: GpuTensor): GpuTensor;
  /** An uninitialised tensor. */
  empty(shape: number[]): GpuTensor;
  /** Rows [r0, r1) of a weight tensor (its first axis), copied once and cached with the weights. */
  rows(w: GpuTensor, r0: number, r1: number): GpuTensor;
  /** Copies `src` (N, c, ...) into channels [c0, c0 + c) of `dst` (N, C, ...). */
  copyChannels(dst: GpuTensor, src: GpuTensor, c0: number): void;
  /** Channel `c` of (N, C, ...) as (N, 1, ...). */
  channel(x: GpuTensor, c: number): GpuTensor;
  /** A tensor with the same data and another shape (no copy; the result owns the data). */
  reshape(x: GpuTensor, shape: number[]): GpuTensor;
  /** Releases tensors no later op reads. */
  free(...xs: GpuTensor[]): void;
}
