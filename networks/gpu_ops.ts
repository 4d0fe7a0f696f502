/**
 * {@linkcode Ops} on the WebGPU kernels: every method records one or a few
 * dispatches on the recorder and returns a new pooled tensor.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import type { Recorder } from "../kernels/program.ts";
import { emptyTensor, type GpuTensor } from "../kernels/tensor.ts";
import { recordAddBroadcast } from "../kernels/add_broadcast/mod.ts";
import { recordAttention } from "../kernels/attention/mod.ts";
import { recordBatchNorm } from "../kernels/batch_norm/mod.ts";
import { recordConcat } from "../kernels/concat/mod.ts";
import { recordConv2d } from "../kernels/conv2d/mod.ts";
import { type Conv3dWeight, prepareConv3dWeight, recordConv3d } from "../kernels/conv3d/mod.ts";
import { recordConvTranspose2d } from "../kernels/conv_transpose2d/mod.ts";
import {
  convTranspose3dGemmFits,
  prepareConvTranspose3dGemm,
  prepareConvTranspose3dWeight,
  recordConvTranspose3d,
  recordConvTranspose3dGemm,
} from "../kernels/conv_transpose3d/mod.ts";
import { recordActivation, recordAdd } from "../kernels/elementwise/mod.ts";
import { recordGelu } from "../kernels/gelu/mod.ts";
import { recordFlattenDepth } from "../kernels/flatten_depth/mod.ts";
import { recordGroupNorm } from "../kernels/group_norm/mod.ts";
import { recordLayerNorm } from "../kernels/layer_norm/mod.ts";
import { recordConv1x1, recordLinear } from "../kernels/matmul/mod.ts";
import { recordMaxPool3d } from "../kernels/max_pool3d/mod.ts";
import { recordResizeBilinear } from "../kernels/resize_bilinear/mod.ts";
import { recordTranspose } from "../kernels/transpose/mod.ts";
import { recordUpsampleNearest3d } from "../kernels/upsample_nearest3d/mod.ts";
import type { Activation, ConvOptions, Ops } from "./ops.ts";

/**
 * Conv3d weights repacked for the kernels, by the weight tensor they came
 * from. A network owns one and releases it with its weights.
 */
export class PreparedWeights {
  readonly #map = new Map<GpuTensor, { release(): void }>();
  readonly #slices = new Map<GpuTensor, Map<string, GpuTensor>>();

  /** Rows [r0, r1) of `w`, copied on `rec` on first use. */
  rows(gpu: Gpu, rec: Recorder, w: GpuTensor, r0: number, r1: number): GpuTensor {
    let byRange = this.#slices.get(w);
    if (!byRange) this.#slices.set(w, byRange = new Map());
    const key = `${r0}:${r1}`;
    let t = byRange.get(key);
    if (!t) {
      const row = w.size / w.shape[0];
      t = emptyTensor(gpu, [r1 - r0, ...w.shape.slice(1)], "f32", "weight rows");
      rec.copy(w.buffer, r0 * row * 4, t.buffer, 0, (r1 - r0) * row * 4);
      byRange.set(key, t);
    }
    return t;
  }

  /** The prepared form of `w` (one form per weight), recorded on `rec` on first use. */
  get<T extends Conv3dWeight | GpuTensor>(w: GpuTensor, make: () => T): T {
    let p = this.#map.get(w);
    if (!p) {
      p = make();
      this.#map.set(w, p);
    }
    return p as T;
  }

  /** Releases every prepared weight. */
  release(): void {
    for (const p of this.#map.values()) p.release();
    this.#map.clear();
    for (const m of this.#slices.values()) for (const t of m.values()) t.release();
    this.#slices.clear();
  }
}

function act(
  a: Activation | undefined,
): { activation: "none" | "relu" | "leaky_relu"; slope?: number } {
  if (a === undefined || a === "none") return { activation: "none" };
  if (a === "relu") return { activation: "relu" };
  return { activation: "leaky_relu", slope: a.leakyRelu };
}

function three(v: number | number[] | undefined, d: number): [number, number, number] {
  if (v === undefined) return [d, d, d];
  return typeof v === "number" ? [v, v, v] : [v[0], v[1], v[2]];
}

function two(v: number | number[] | undefined, d: number): [number, number] {
  if (v === undefined) return [d, d];
  return typeof v === "number" ? [v, v] : [v[0], v[1]];
}

/** Ops recording on `rec`; conv3d weights are prepared into `prepared` once. */
export function gpuOps(gpu: Gpu, rec: Recorder, prepared = new PreparedWeights()): Ops {
  return {
    gpu,
    rec,
    conv3d: (x, w, b, o: ConvOptions = {}) => {
      const [stride, padding] = [three(o.stride, 1), three(o.padding, 0)];
      const [co, ci, kd, kh, kw] = w.shape;
      if (kd * kh * kw === 1 && stride.every((s) => s === 1) && padding.every((p) => p === 0)) {
        // A 1x1x1 convolution is one GEMM per batch item, Y (Co, DHW) = W (Co, Ci) · X (Ci, DHW):
        // the matmul kernel runs it about 4x faster than the general conv3d kernel.
        const [n, , d, h, wd] = x.shape;
        const y = recordConv1x1(gpu, rec, x.view([n, ci, d * h, wd]), w.view([co, ci]), b);
        return y.reshape([n, co, d, h, wd]);
      }
      return recordConv3d(gpu, rec, x, prepared.get(w, () => prepareConv3dWeight(gpu, rec, w, b)), {
        stride,
        padding,
      });
    },
    convTranspose3d: (x, w, stride) => {
      if (stride !== 2) throw new Error(`convTranspose3d supports stride 2, got ${stride}`);
      // As GEMMs on the matmul kernel where one batch item's result fits a binding.
      if (convTranspose3dGemmFits(gpu, x, w.shape[1])) {
        const wt = prepared.get(w, () => prepareConvTranspose3dGemm(gpu, rec, w));
        return recordConvTranspose3dGemm(gpu, rec, x, wt);
      }
      return recordConvTranspose3d(
        gpu,
        rec,
        x,
        prepared.get(w, () => prepareConvTranspose3dWeight(gpu, rec, w)),
      );
    },
    groupNorm: (x, groups, gamma, beta, a) =>
      recordGroupNorm(gpu, rec, x, { groups, gamma, beta, ...act(a) }),
    maxPool3d: (x) => recordMaxPool3d(gpu, rec, x),
    upsampleNearest3d: (x, size) => recordUpsampleNearest3d(gpu, rec, x, size),
    concat: (xs) => recordConcat(gpu, rec, xs),
    add: (a, b) => recordAdd(gpu, rec, a, b),
    addBroadcast: (a, b) => recordAddBroadcast(gpu, rec, a, b),
    relu: (x) => recordActivation(gpu, rec, x, "relu"),
    leakyRelu: (x, slope) => recordActivation(gpu, rec, x, "leaky_relu", { slope }),
    conv2d: (x, w, b, o: ConvOptions = {}) =>
      recordConv2d(gpu, rec, x, w, b, {
        stride: two(o.stride, 1),
        padding: two(o.padding, 0),
        groups: o.groups ?? 1,
      }),
    convTranspose2d: (x, w, b, stride, padding) =>
      recordConvTranspose2d(gpu, rec, x, w, b, { stride, padding }),
    linear: (x, w, b) => recordLinear(gpu, rec, x, w, b),
    conv1x1: (x, w, b) => recordConv1x1(gpu, rec, x, w, b),
    layerNorm: (x, g, b, eps = 1e-5) => recordLayerNorm(gpu, rec, x, g, b, { eps }),
    dropout: (x) => x,
    gelu: (x) => recordGelu(gpu, rec, x),
    attention: (q, k, v, heads) => recordAttention(gpu, rec, q, k, v, { heads }),
    resizeBilinear: (x, size) => recordResizeBilinear(gpu, rec, x, size),
    batchNorm: (x, weight, bias, runningMean, runningVar, a) =>
      recordBatchNorm(gpu, rec, x, { weight, bias, runningMean, runningVar }, {
        relu: a === "relu",
      }),
    transpose: (x, shape) => {
      if (x.shape.length !== 3) throw new Error(`transpose needs a (B, M, N) tensor, got ${x}`);
      return recordTranspose(gpu, rec, x).reshape(shape);
    },
    flattenMax: (x) => recordFlattenDepth(gpu, rec, x, "max"),
    empty: (shape) => emptyTensor(gpu, shape, "f32"),
    rows: (w, r0, r1) => prepared.rows(gpu, rec, w, r0, r1),
    copyChannels: (dst, src, c0) => {
      const [n, c, ...rest] = src.shape;
      const plane = rest.reduce((a, d) => a * d, 1);
      const channels = dst.shape[1];
      for (let i = 0; i < n; i++) {
        rec.copy(
          src.buffer,
          i * c * plane * 4,
          dst.buffer,
          (i * channels + c0) * plane * 4,
          c * plane * 4,
        );
      }
    },
    channel: (x, c) => {
      const [n, channels, ...rest] = x.shape;
      const plane = rest.reduce((a, d) => a * d, 1);
      const y = emptyTensor(gpu, [n, 1, ...rest], "f32");
      for (let i = 0; i < n; i++) {
        rec.copy(x.buffer, ((i * channels + c) * plane) * 4, y.buffer, i * plane * 4, plane * 4);
      }
      return y;
    },
    reshape: (x, shape) => x.reshape(shape),
    free: (...xs) => {
      for (const x of xs) x.release();
    },
  };
}
