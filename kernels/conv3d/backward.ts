/**
 * The convolution backward engine shared by `conv2d`, `conv3d`,
 * `conv_transpose2d` and `conv_transpose3d`: two general 3D channels-first
 * kernels with groups (2D runs them with D = 1).
 *
 * - {@linkcode recordConvGather} (`backward_input.wgsl`): the input gradient
 *   of a convolution (a transposed convolution of dy, mode "tr") or of a
 *   transposed convolution (a plain correlation of dy, mode "fwd").
 * - {@linkcode recordConvWeightGrad} (`backward_weight.wgsl`): weight
 *   gradients, a long reduction over batch items and positions, split into
 *   chunks (partial sums reduced by `recordChannelSum`) so that small weights
 *   with long reductions still spread over all cores.
 *
 * Every bound tensor must fit one storage binding (training tiles are
 * small); larger ones are refused with an error naming the op and tensor.
 *
 * @module
 */

import gatherSource from "./backward_input.wgsl" with { type: "text" };
import weightSource from "./backward_weight.wgsl" with { type: "text" };
import weightK3Source from "./backward_weight_k3.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import type { Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor, numel } from "../tensor.ts";
import { recordChannelSum } from "../reduce/mod.ts";

/** (N, C, D, H, W) of a channels-first tensor (2D tensors have D = 1). */
export type Dims5 = readonly [number, number, number, number, number];
/** A size per spatial axis (D, H, W). */
export type Triple = readonly [number, number, number];

/** Workgroup size: llvmpipe runs a workgroup on one thread; small groups spread small grids. */
const WG = 16;
/** Longest chunk of a weight-gradient reduction summed by one invocation. */
const MAX_CHUNK = 2048;
/** Shortest chunk worth an invocation of its own. */
const MIN_CHUNK = 256;
/** Invocations wanted for a weight gradient (several workgroups per core). */
const TARGET_INVOCATIONS = 512;

/** Throws when a tensor cannot be bound whole. */
export function checkBinding(gpu: Gpu, op: string, what: string, t: GpuTensor): void {
  if (t.dtype !== "f32") throw new Error(`${op}: ${what} must be f32, got ${t}`);
  checkBytes(gpu, op, what, t.shape);
}

/** Throws when an f32 tensor of `shape` would exceed one storage binding. */
export function checkBytes(gpu: Gpu, op: string, what: string, shape: readonly number[]): void {
  const bytes = numel(shape) * 4;
  if (bytes > gpu.maxBinding) {
    throw new Error(
      `${op}: ${what} f32[${shape}] (${bytes} bytes) exceeds the storage binding limit ` +
        `(${gpu.maxBinding} bytes); backward kernels do not window`,
    );
  }
}

/** Throws unless `t` has exactly `shape`. */
export function checkShape(op: string, what: string, t: GpuTensor, shape: readonly number[]): void {
  if (t.shape.length !== shape.length || t.shape.some((v, i) => v !== shape[i])) {
    throw new Error(`${op}: ${what} ${t} should have shape [${shape}]`);
  }
}

/** Output size of a convolution along one axis (PyTorch floor semantics). */
export function convOut(size: number, k: number, s: number, p: number): number {
  return Math.floor((size + 2 * p - k) / s) + 1;
}

/** Geometry of {@linkcode recordConvGather}. */
export interface GatherArgs {
  /** "tr": input gradient of a convolution; "fwd": plain correlation. */
  mode: "tr" | "fwd";
  /** Source dims (N, C, D, H, W). */
  src: Dims5;
  /** Output dims (N, C, D, H, W). */
  out: Dims5;
  /** Kernel, stride and padding (D, H, W). */
  k: Triple;
  s: Triple;
  p: Triple;
  groups: number;
  /** Weight strides of the group-local output channel and the absolute source channel. */
  wSo: number;
  wSi: number;
  /** Op name for errors. */
  op: string;
}

/**
 * Records a gather convolution of `src` with `w` into a new tensor of shape
 * `outShape` (numel of `args.out`); see `backward_input.wgsl`.
 */
export function recordConvGather(
  gpu: Gpu,
  rec: Recorder,
  src: GpuTensor,
  w: GpuTensor,
  outShape: readonly number[],
  args: GatherArgs,
): GpuTensor {
  const [n, oc, od, oh, ow] = args.out;
  const [, ic, id, ih, iw] = args.src;
  if (numel(outShape) !== numel(args.out)) {
    throw new Error(`${args.op}: output shape [${outShape}] does not match [${args.out}]`);
  }
  checkBinding(gpu, args.op, "input", src);
  checkBinding(gpu, args.op, "weight", w);
  checkBytes(gpu, args.op, "output", outShape);
  const out = emptyTensor(gpu, outShape, "f32");
  const cob = args.groups === 1 ? 4 : 1;
  const kernel = gpu.kernels.get({
    name: "conv_gather",
    source: gatherSource,
    defines: { MODE: args.mode, COB: cob, WG },
  });
  const phases = args.mode === "tr" ? args.s[2] : 1;
  const xblocks = Math.ceil(Math.ceil(ow / phases) / 8);
  const oblocks = Math.ceil(oc / cob);
  rec.dispatch({
    kernel,
    uniforms: [
      n,
      oc,
      od,
      oh,
      ow,
      ic,
      id,
      ih,
      iw,
      ...args.k,
      ...args.s,
      ...args.p,
      oc / args.groups,
      ic / args.groups,
      args.wSo,
      args.wSi,
      oblocks,
      xblocks,
      phases,
    ],
    bindings: [src, w, out],
    invocations: n * oblocks * od * oh * phases * xblocks,
  });
  return out;
}

/** Geometry of {@linkcode recordConvWeightGrad}. */
export interface WeightGradArgs {
  /** Dims of `a` (its channels are the gradient's first axis; its positions are summed over). */
  a: Dims5;
  /** Dims of `b` (read at q·s - p + k). */
  b: Dims5;
  k: Triple;
  s: Triple;
  p: Triple;
  groups: number;
  op: string;
}

/**
 * Records out[c, j, t] = sum over n, q of a[n, c, q] · b[n, g·bg + j, q·s - p + t]
 * into a new tensor of shape `outShape` (numel (a channels) x (b channels /
 * groups) x taps); see `backward_weight.wgsl`.
 */
export function recordConvWeightGrad(
  gpu: Gpu,
  rec: Recorder,
  a: GpuTensor,
  b: GpuTensor,
  outShape: readonly number[],
  args: WeightGradArgs,
): GpuTensor {
  const [n, ac, ad, ah, aw] = args.a;
  const [, bc, bd, bh, bw] = args.b;
  const [kd, kh, kw] = args.k;
  const bg = bc / args.groups;
  const taps = bg * kd * kh * kw;
  const size = ac * taps;
  if (numel(outShape) !== size) {
    throw new Error(`${args.op}: weight shape [${outShape}] should have ${size} elements`);
  }
  checkBinding(gpu, args.op, "input", a);
  checkBinding(gpu, args.op, "input", b);
  // 3x3x3 stride-1 convolutions (the 3D encoders' layers) slide along rows, 8 channels at a time.
  const k3 = args.groups === 1 && args.k.every((k) => k === 3) && args.s.every((s) => s === 1);
  const cob = k3 ? 8 : args.groups === 1 ? 4 : 1;
  const tblocks = k3 ? bc : Math.ceil(taps / 8);
  const cblocks = Math.ceil(ac / cob);
  const blocks = tblocks * cblocks;
  const total = n * ad * ah * aw;
  // Chunks: at most MAX_CHUNK long, and enough of them to fill the cores, but not shorter
  // than MIN_CHUNK; the partial sums must fit one binding.
  const least = Math.ceil(total / MAX_CHUNK);
  const most = Math.max(1, Math.floor(total / MIN_CHUNK));
  let parts = Math.max(least, Math.min(Math.ceil(TARGET_INVOCATIONS / blocks), most));
  parts = Math.max(1, Math.min(parts, Math.floor(gpu.maxBinding / (4 * size))));
  const chunk = Math.ceil(total / parts);
  parts = Math.ceil(total / chunk);
  checkBytes(gpu, args.op, "weight gradient", outShape);
  const partial = emptyTensor(gpu, parts === 1 ? outShape : [parts, size], "f32");
  if (k3) {
    rec.dispatch({
      kernel: gpu.kernels.get({
        name: "conv_weight_grad_k3",
        source: weightK3Source,
        defines: { WG },
      }),
      uniforms: [n, ac, ad, ah, aw, bc, bd, bh, bw, ...args.p, cblocks, chunk, parts, total],
      bindings: [a, b, partial],
      invocations: parts * blocks,
    });
  } else {
    const kernel = gpu.kernels.get({
      name: "conv_weight_grad",
      source: weightSource,
      defines: { COB: cob, WG },
    });
    rec.dispatch({
      kernel,
      uniforms: [
        n,
        ac,
        ad,
        ah,
        aw,
        bc,
        bd,
        bh,
        bw,
        ...args.k,
        ...args.s,
        ...args.p,
        ac / args.groups,
        bg,
        taps,
        tblocks,
        cblocks,
        chunk,
        parts,
        total,
      ],
      bindings: [a, b, partial],
      invocations: parts * blocks,
    });
  }
  if (parts === 1) return partial;
  const dw = recordChannelSum(gpu, rec, partial, parts, size, 1);
  partial.release();
  return dw.reshape(outShape);
}

/** Options of the conv3d backward launchers. */
export interface Conv3dBackwardOptions {
  stride: [number, number, number];
  padding: [number, number, number];
}

/** Checks a conv3d's shapes; returns its dims, kernel and output dims. */
export function conv3dGeometry(
  op: string,
  inputShape: readonly number[],
  weightShape: readonly number[],
  o: Conv3dBackwardOptions,
): { x: Dims5; y: Dims5; k: Triple } {
  if (inputShape.length !== 5 || weightShape.length !== 5) {
    throw new Error(`${op}: input [${inputShape}] and weight [${weightShape}] must be 5D`);
  }
  const [n, ci, d, h, w] = inputShape;
  const [co, wci, kd, kh, kw] = weightShape;
  if (wci !== ci) throw new Error(`${op}: weight [${weightShape}] does not match [${inputShape}]`);
  const od = convOut(d, kd, o.stride[0], o.padding[0]);
  const oh = convOut(h, kh, o.stride[1], o.padding[1]);
  const ow = convOut(w, kw, o.stride[2], o.padding[2]);
  if (od < 1 || oh < 1 || ow < 1) {
    throw new Error(`${op}: kernel [${kd},${kh},${kw}] larger than padded [${inputShape}]`);
  }
  return { x: [n, ci, d, h, w], y: [n, co, od, oh, ow], k: [kd, kh, kw] };
}

/**
 * The general path of `recordConv3dBackwardInput` (mod.ts): any kernel,
 * stride and padding, through the gather kernel.
 */
export function recordConv3dBackwardInputGather(
  gpu: Gpu,
  rec: Recorder,
  dy: GpuTensor,
  w: GpuTensor,
  inputShape: readonly number[],
  o: Conv3dBackwardOptions,
): GpuTensor {
  const op = "conv3d backward input";
  const g = conv3dGeometry(op, inputShape, w.shape, o);
  checkShape(op, "dy", dy, g.y);
  checkBinding(gpu, op, "dy", dy);
  checkBinding(gpu, op, "weight", w);
  const k = g.k[0] * g.k[1] * g.k[2];
  return recordConvGather(gpu, rec, dy, w, inputShape, {
    mode: "tr",
    src: g.y,
    out: g.x,
    k: g.k,
    s: o.stride,
    p: o.padding,
    groups: 1,
    wSo: k,
    wSi: g.x[1] * k,
    op,
  });
}

/**
 * Records the weight gradient of a Conv3d: x (N, Ci, D, H, W) and dy
 * (N, Co, Do, Ho, Wo) -> a new dw of `weightShape` (Co, Ci, kd, kh, kw).
 */
export function recordConv3dBackwardWeight(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  weightShape: readonly number[],
  o: Conv3dBackwardOptions,
): GpuTensor {
  const op = "conv3d backward weight";
  const g = conv3dGeometry(op, x.shape, weightShape, o);
  checkShape(op, "dy", dy, g.y);
  checkBinding(gpu, op, "x", x);
  checkBinding(gpu, op, "dy", dy);
  return recordConvWeightGrad(gpu, rec, dy, x, weightShape, {
    a: g.y,
    b: g.x,
    k: g.k,
    s: o.stride,
    p: o.padding,
    groups: 1,
    op,
  });
}
