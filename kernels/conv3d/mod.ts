/**
 * `conv3d` launchers: 3D convolution (N, Ci, D, H, W) -> (N, Co, Do, Ho, Wo)
 * with PyTorch `Conv3d` semantics (zero padding, dilation 1, groups 1), an
 * optional bias and an optional fused activation.
 *
 * Weights are repacked once by {@linkcode prepareConv3dWeight} into blocks of
 * output channels held in a uniform-capable buffer: uniform loads are vector
 * gathers on llvmpipe, several times cheaper than storage loads, and weights
 * are read as often as inputs. 3x3x3 stride-1 convolutions run a dedicated
 * kernel (`conv3d_k3.wgsl`); everything else the general one.
 *
 * Tensors larger than the storage binding limit are split: batch items,
 * output-channel groups (written through up to 4 output windows per
 * dispatch) and input-channel ranges (read through up to 4 input windows,
 * partial sums accumulated in the output: the first range writes, later
 * ranges add, the last applies the activation).
 *
 * @module
 */

import k3Source from "./conv3d_k3.wgsl" with { type: "text" };
import generalSource from "./conv3d.wgsl" with { type: "text" };
import packSource from "./conv3d_pack.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type BufferBinding, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import type { Activation } from "../elementwise/mod.ts";
import {
  checkShape,
  type Conv3dBackwardOptions,
  conv3dGeometry,
  recordConv3dBackwardInputGather,
} from "./backward.ts";

/** A size per spatial axis (D, H, W), or one size for all three. */
export type Size3 = number | readonly [number, number, number];

/** Options of {@linkcode recordConv3d}. */
export interface Conv3dOptions {
  /** Stride (default 1). */
  stride?: Size3;
  /** Zero padding on both sides (default 0). */
  padding?: Size3;
  /** Activation applied to the output (default "none"). */
  activation?: Activation;
  /** Negative slope of leaky_relu (default 0.01). */
  slope?: number;
}

/** Bytes of one uniform weight window (the WebGPU default `maxUniformBufferBindingSize`). */
export const UNIFORM_WINDOW = 65536;
/** Uniform binding offsets are multiples of this (the WebGPU default alignment). */
const UNIFORM_ALIGN = 256;
/** vec4 of a window usable from any 16-byte-aligned start after aligning the offset down. */
const UNIFORM_VEC4 = (UNIFORM_WINDOW - UNIFORM_ALIGN) / 16 + 1;

/**
 * Conv3d weights repacked for the kernels: per block of `cob` output
 * channels, `cob` bias values then `cob` weights per (ci, kz, ky, kx) tap,
 * in a buffer with uniform usage. Owns its buffer: release it when the layer
 * is dropped.
 */
export class Conv3dWeight {
  /** PyTorch weight shape (Co, Ci, kd, kh, kw). */
  readonly shape: readonly [number, number, number, number, number];
  /** Output channels per block (4 or 8). */
  readonly cob: number;
  readonly hasBias: boolean;
  readonly buffer: GPUBuffer;
  #released = false;

  constructor(
    shape: readonly [number, number, number, number, number],
    cob: number,
    hasBias: boolean,
    buffer: GPUBuffer,
  ) {
    this.shape = shape;
    this.cob = cob;
    this.hasBias = hasBias;
    this.buffer = buffer;
  }

  /** Taps per output channel: Ci * kd * kh * kw. */
  get taps(): number {
    const [, ci, kd, kh, kw] = this.shape;
    return ci * kd * kh * kw;
  }

  /** Number of channel blocks. */
  get blocks(): number {
    return Math.ceil(this.shape[0] / this.cob);
  }

  /** vec4 per block: bias, then the taps. */
  get blockVec4(): number {
    return (this.cob / 4) * (this.taps + 1);
  }

  /** Destroys the packed buffer (work already submitted still completes). */
  release(): void {
    if (this.#released) throw new Error("Conv3dWeight released twice");
    this.#released = true;
    this.buffer.destroy();
  }
}

/** Output channels per weight block for a layer with `co` outputs. */
export function conv3dBlock(co: number): number {
  return co <= 4 ? 4 : 8;
}

/**
 * Records the repacking of PyTorch Conv3d weights (Co, Ci, kd, kh, kw) and
 * an optional bias (Co) into a {@linkcode Conv3dWeight}. Do it once per layer
 * when the weights are loaded.
 */
export function prepareConv3dWeight(
  gpu: Gpu,
  rec: Recorder,
  weight: GpuTensor,
  bias?: GpuTensor,
): Conv3dWeight {
  if (weight.shape.length !== 5 || weight.dtype !== "f32") {
    throw new Error(`conv3d weight must be f32 (Co, Ci, kd, kh, kw), got ${weight}`);
  }
  const [co, ci, kd, kh, kw] = weight.shape;
  return packWeights(gpu, rec, weight, bias, {
    shape: [co, ci, kd, kh, kw],
    k: kd * kh * kw,
    sCo: ci * kd * kh * kw,
    sCi: kd * kh * kw,
    label: "conv3d",
  });
}

/** Where {@linkcode packWeights} finds weight (co, ci, tap) and the logical (Co, Ci, k...) shape. */
export interface PackLayout {
  shape: readonly [number, number, number, number, number];
  /** Taps per input channel. */
  k: number;
  /** Element strides between output and input channels (taps are contiguous). */
  sCo: number;
  sCi: number;
  /** Op name for errors and labels. */
  label: string;
  /** Read the taps in reverse order (a flipped kernel). */
  flip?: boolean;
}

/**
 * Records the packing of a weight tensor (any layout with contiguous taps)
 * and an optional bias into a {@linkcode Conv3dWeight}.
 */
export function packWeights(
  gpu: Gpu,
  rec: Recorder,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  layout: PackLayout,
): Conv3dWeight {
  const [co, ci] = layout.shape;
  if (bias && (bias.size !== co || bias.dtype !== "f32")) {
    throw new Error(`${layout.label} bias must be f32 of ${co} values, got ${bias}`);
  }
  const cob = conv3dBlock(co);
  const taps = ci * layout.k;
  const blockFloats = cob * (taps + 1);
  const blocks = Math.ceil(co / cob);
  const buffer = gpu.device.createBuffer({
    size: blocks * blockFloats * 4 + UNIFORM_WINDOW,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    label: `${layout.label} weights [${weight.shape}]`,
  });
  const packed = new Conv3dWeight(layout.shape, cob, bias !== undefined, buffer);
  const kernel = gpu.kernels.get({
    name: "conv3d_pack",
    source: packSource,
    defines: { COB: cob },
  });
  // Whole blocks per dispatch, as many as the source and packed windows allow. Output
  // channels are the outer weight axis of Conv3d: its source window shrinks with the
  // blocks; a ConvTranspose3d weight (Ci, Co, ...) is bound whole.
  const outer = layout.sCo >= layout.sCi * ci;
  const srcBlockBytes = outer ? cob * layout.sCo * 4 : 0;
  const per = Math.floor((gpu.maxBinding - 256) / Math.max(blockFloats * 4, srcBlockBytes));
  if (per < 1 || (!outer && weight.byteLength > gpu.maxBinding)) {
    throw new Error(`${layout.label}: weight ${weight} is too large for one storage binding`);
  }
  for (let b0 = 0; b0 < blocks; b0 += per) {
    const nb = Math.min(per, blocks - b0);
    const c0 = b0 * cob;
    const nc = Math.min(co, c0 + nb * cob) - c0;
    const src = outer ? bindWindow(weight, c0 * layout.sCo, nc * layout.sCo) : {
      binding: { buffer: weight.buffer, offset: 0, size: weight.byteLength },
      base: c0 * layout.sCo,
    };
    const b = bias ? bindWindow(bias, c0, nc) : src;
    const out = bufferWindow(buffer, b0 * blockFloats, nb * blockFloats);
    rec.dispatch({
      kernel,
      uniforms: [
        co,
        taps,
        layout.k,
        layout.sCo,
        layout.sCi,
        nb * blockFloats,
        b0,
        src.base,
        b.base,
        out.base,
        bias ? 1 : 0,
        layout.flip ? 1 : 0,
      ],
      bindings: [src.binding, b.binding, out.binding],
      invocations: nb * blockFloats,
    });
  }
  return packed;
}

/** A storage window of a raw f32 buffer, like `bindWindow`. */
function bufferWindow(
  buffer: GPUBuffer,
  start: number,
  count: number,
): { binding: BufferBinding; base: number } {
  const offset = Math.floor((start * 4) / 256) * 256;
  return {
    binding: { buffer, offset, size: start * 4 + count * 4 - offset },
    base: start - offset / 4,
  };
}

function triple(v: Size3 | undefined, dflt: number): [number, number, number] {
  if (v === undefined) return [dflt, dflt, dflt];
  return typeof v === "number" ? [v, v, v] : [v[0], v[1], v[2]];
}

/**
 * Whole channel planes of `plane` f32 values that one binding of `limit`
 * bytes holds (a window starts at a plane boundary, aligned down to 256 bytes).
 */
export function planesPerWindow(plane: number, limit: number): number {
  const bytes = plane * 4;
  return bytes % 256 === 0 ? Math.floor(limit / bytes) : Math.floor((limit - 252) / bytes);
}

/** Throws the one-line error for a channel plane that no binding can hold. */
export function checkPlane(op: string, t: GpuTensor, plane: number, limit: number): void {
  if (planesPerWindow(plane, limit) < 1) {
    const mib = (b: number) => b < 2 ** 20 ? `${b} bytes` : `${(b / 2 ** 20).toFixed(1)} MiB`;
    throw new Error(
      `${op}: one channel plane of ${t} (${mib(plane * 4)}) exceeds the storage binding limit ` +
        `(${mib(limit)}); split the tensor spatially first`,
    );
  }
}

/** Output spatial size (D, H, W) of a convolution. */
export function convOutSize(
  input: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  padding: readonly number[],
): [number, number, number] {
  const out = (i: number) => Math.floor((input[i] + 2 * padding[i] - kernel[i]) / stride[i]) + 1;
  return [out(0), out(1), out(2)];
}

/**
 * Records a 3D convolution of `x` (N, Ci, D, H, W) with prepared weights
 * into a new (N, Co, Do, Ho, Wo) tensor.
 */
export function recordConv3d(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: Conv3dWeight,
  opts: Conv3dOptions = {},
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`conv3d needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  const [n, ci, d, h, w] = x.shape;
  const [co, wci, kd, kh, kw] = weight.shape;
  if (wci !== ci) {
    throw new Error(
      `conv3d: input ${x} has ${ci} channels, weight [${weight.shape}] expects ${wci}`,
    );
  }
  const stride = triple(opts.stride, 1);
  const padding = triple(opts.padding, 0);
  const [od, oh, ow] = convOutSize([d, h, w], [kd, kh, kw], stride, padding);
  if (od < 1 || oh < 1 || ow < 1) {
    throw new Error(`conv3d: kernel [${kd},${kh},${kw}] does not fit input ${x} with this padding`);
  }
  const activation = opts.activation ?? "none";
  const slope = opts.slope ?? 0.01;
  const y = emptyTensor(gpu, [n, co, od, oh, ow], "f32");
  const k3 = kd === 3 && kh === 3 && kw === 3 && stride.every((s) => s === 1);
  const cob = weight.cob;
  const c4 = cob / 4;

  const limit = gpu.maxBinding;
  const planeIn = d * h * w;
  const planeOut = od * oh * ow;
  checkPlane("conv3d", x, planeIn, limit);
  checkPlane("conv3d", y, planeOut, limit);
  const cpxMax = planesPerWindow(planeIn, limit);
  const cpyMax = planesPerWindow(planeOut, limit);

  // Reduction slices: (ci, kz) pairs for the general kernel, whole channels for k3.
  const slicesPerCi = k3 ? 1 : kd;
  const sliceVec4 = (k3 ? 27 : kh * kw) * c4;
  const totalSlices = ci * slicesPerCi;
  if (c4 + sliceVec4 > UNIFORM_VEC4) {
    throw new Error(`conv3d: a kernel of ${kh}x${kw} taps is too large for one uniform window`);
  }
  const blockVec4 = weight.blockVec4;
  const allFit = weight.blocks * blockVec4 <= UNIFORM_VEC4;

  // Batch items per dispatch: several only when each sample fits one window.
  let nPer = 1;
  if (ci <= cpxMax && co <= cpyMax) {
    nPer = Math.max(1, Math.min(n, Math.floor(cpxMax / ci), Math.floor(cpyMax / co)));
  }
  const cpx = ci <= cpxMax ? ci : cpxMax;
  const cpy = co <= cpyMax ? co : cpyMax;
  let chanPer = co <= cpyMax ? co : 4 * cpyMax;
  if (!allFit) chanPer = Math.min(chanPer, cob);
  if (chanPer >= cob) chanPer -= chanPer % cob;

  const kernel = gpu.kernels.get({
    name: k3 ? "conv3d_k3" : "conv3d",
    source: k3 ? k3Source : generalSource,
    defines: { COB: cob, ACT: activation, XW: cpx < ci ? 4 : 1, YW: chanPer > cpy ? 4 : 1 },
  });
  const wg = 64;
  const spatial = k3 ? od * Math.ceil(oh / 4) * Math.ceil(ow / 4) : od * oh * Math.ceil(ow / 4);
  const gpb = Math.ceil(spatial / wg);

  for (let n0 = 0; n0 < n; n0 += nPer) {
    const nn = Math.min(nPer, n - n0);
    for (let co0 = 0; co0 < co;) {
      const b0 = Math.floor(co0 / cob);
      let co1 = Math.min(co, co0 + chanPer);
      if (chanPer < cob) co1 = Math.min(co1, (b0 + 1) * cob);
      const cn = co1 - co0;
      const cblocks = Math.ceil(co1 / cob) - b0;
      const outWin = windows(y, (n0 * co + co0) * planeOut, planeOut, cn, cpy, (nn - 1) * co);
      for (let j0 = 0; j0 < totalSlices;) {
        const c0 = Math.floor(j0 / slicesPerCi);
        let j1 = totalSlices;
        if (cpx < ci) j1 = Math.min(j1, (c0 + 4 * cpx) * slicesPerCi);
        if (!allFit) j1 = Math.min(j1, j0 + Math.floor((UNIFORM_VEC4 - c4) / sliceVec4));
        const c1 = Math.ceil(j1 / slicesPerCi);
        const inWin = windows(x, (n0 * ci + c0) * planeIn, planeIn, c1 - c0, cpx, (nn - 1) * ci);
        // The weight window starts at block b0's bias when this is the first range.
        const data = b0 * blockVec4 + c4 + j0 * sliceVec4;
        const from = allFit ? 0 : (j0 === 0 ? data - c4 : data);
        const offset = Math.floor((from * 16) / UNIFORM_ALIGN) * UNIFORM_ALIGN;
        const wwin = { buffer: weight.buffer, offset, size: UNIFORM_WINDOW };
        const wBase = data - offset / 16;
        const common = [
          ...inWin.bases,
          ...outWin.bases,
          d,
          h,
          w,
          ci * planeIn,
          od,
          oh,
          ow,
          co * planeOut,
        ];
        const tail = [
          cpx,
          cpy,
          co0 - b0 * cob,
          cn,
          nn,
          cblocks,
          gpb,
          Math.ceil(ow / 4),
        ];
        const flags = [j0 === 0 ? 1 : 0, j1 === totalSlices ? 1 : 0, f32bits(slope)];
        const uniforms = k3
          ? [
            ...common,
            ...padding,
            c1 - c0,
            ...tail,
            Math.ceil(oh / 4),
            wBase,
            blockVec4,
            ...flags,
          ]
          : [
            ...common,
            kd,
            kh,
            kw,
            ...stride,
            ...padding,
            j1 - j0,
            j0 % slicesPerCi,
            ...tail,
            wBase,
            blockVec4,
            ...flags,
          ];
        rec.dispatch({
          kernel,
          uniforms,
          bindings: [wwin, ...inWin.bindings, ...outWin.bindings],
          invocations: nn * cblocks * gpb * wg,
        });
        j0 = j1;
      }
      co0 = co1;
    }
  }
  return y;
}

/**
 * Up to 4 windows over `count` consecutive channel planes starting at element
 * `start`, `per` planes each; window 0 also spans `extra` more planes (the
 * other batch items of a dispatch). Unused windows repeat window 0.
 */
function windows(
  t: GpuTensor,
  start: number,
  plane: number,
  count: number,
  per: number,
  extra: number,
): { bindings: BufferBinding[]; bases: number[] } {
  const bindings: BufferBinding[] = [];
  const bases: number[] = [];
  for (let k = 0; k < 4; k++) {
    const c = Math.min(per, count - k * per);
    if (c <= 0) {
      bindings.push(bindings[0]);
      bases.push(bases[0]);
      continue;
    }
    const win = bindWindow(t, start + k * per * plane, (c + (k === 0 ? extra : 0)) * plane);
    bindings.push(win.binding);
    bases.push(win.base);
  }
  return { bindings, bases };
}

/**
 * Records the input gradient of a Conv3d: dy (N, Co, Do, Ho, Wo) and the
 * PyTorch-layout weight `w` (Co, Ci, kd, kh, kw) -> a new dx of `inputShape`
 * (N, Ci, D, H, W).
 *
 * The input gradient of a 3x3x3 stride-1 convolution with padding p is a
 * 3x3x3 stride-1 convolution of dy with the weight transposed and flipped,
 * with padding 2 - p: it runs the forward `conv3d_k3` kernel on a flipped
 * packing of `w` (twice the rate of the general gather on llvmpipe).
 * Everything else runs the gather kernel of `backward.ts`.
 */
export function recordConv3dBackwardInput(
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
  const flippable = g.k.every((k) => k === 3) && o.stride.every((s) => s === 1) &&
    o.padding.every((p) => p <= 2);
  if (!flippable) return recordConv3dBackwardInputGather(gpu, rec, dy, w, inputShape, o);
  const [co, ci] = w.shape;
  const flipped = packWeights(gpu, rec, w, undefined, {
    shape: [ci, co, 3, 3, 3],
    k: 27,
    sCo: 27,
    sCi: ci * 27,
    label: op,
    flip: true,
  });
  rec.destroyAfterSubmit(flipped.buffer);
  const [pd, ph, pw] = o.padding;
  return recordConv3d(gpu, rec, dy, flipped, { padding: [2 - pd, 2 - ph, 2 - pw] });
}

export {
  type Conv3dBackwardOptions,
  recordConv3dBackwardInputGather,
  recordConv3dBackwardWeight,
} from "./backward.ts";
