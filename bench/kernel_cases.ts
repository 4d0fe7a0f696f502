/**
 * The production kernels of the issue-6 list that `bench/networks.ts` had not
 * timed yet, as uniform cases: each builds its inputs at a small shape (run
 * and compared with its TypeScript reference before anything is timed) and
 * at a shape from the seed's networks (timed), and reports its FLOPs and the
 * bytes it must move, for the roofline.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import type { Recorder } from "../kernels/program.ts";
import { GpuTensor, uploadTensor } from "../kernels/tensor.ts";
import { prepareConv3dWeight, recordConv3d } from "../kernels/conv3d/mod.ts";
import { recordConv1x1 } from "../kernels/matmul/mod.ts";
import { conv3dRef } from "../kernels/conv3d/ref.ts";
import {
  prepareConvTranspose3dGemm,
  prepareConvTranspose3dWeight,
  recordConvTranspose3d,
  recordConvTranspose3dGemm,
} from "../kernels/conv_transpose3d/mod.ts";
import { convTranspose3dRef } from "../kernels/conv_transpose3d/ref.ts";
import { recordGroupNorm } from "../kernels/group_norm/mod.ts";
import { groupNormRef } from "../kernels/group_norm/ref.ts";
import { recordConv2d } from "../kernels/conv2d/mod.ts";
import { conv2dRef } from "../kernels/conv2d/ref.ts";
import { recordLayerNorm } from "../kernels/layer_norm/mod.ts";
import { layerNormRef } from "../kernels/layer_norm/ref.ts";
import { recordGelu } from "../kernels/gelu/mod.ts";
import { geluRef } from "../kernels/gelu/ref.ts";
import { recordResizeBilinear } from "../kernels/resize_bilinear/mod.ts";
import { resizeBilinearRef } from "../kernels/resize_bilinear/ref.ts";
import { recordConvTranspose2d } from "../kernels/conv_transpose2d/mod.ts";
import { convTranspose2dRef } from "../kernels/conv_transpose2d/ref.ts";

/** One kernel at one shape: inputs on the GPU, a launcher, its reference. */
export interface KernelRun {
  /** Records the kernel; returns its output (released by the caller). */
  run(rec: Recorder): GpuTensor;
  /** The float64/TypeScript reference output (small shapes only). */
  ref(): ArrayLike<number>;
  flop: number;
  /** Bytes the kernel must read and write at least once. */
  bytes: number;
  release(): void;
}

/** A production kernel: a name and its run at the small (check) or real (timed) shape. */
export interface KernelCase {
  name: string;
  make(gpu: Gpu, size: "small" | "real"): KernelRun;
}

const rand = (n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * scale);
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Uploads host arrays, remembering them for release. */
function inputs(gpu: Gpu, list: [readonly number[], Float32Array][]): GpuTensor[] {
  return list.map(([shape, data]) => uploadTensor(gpu, shape, "f32", data));
}

function releaser(ts: GpuTensor[], extra?: { release(): void }) {
  return () => {
    for (const t of ts) t.release();
    extra?.release();
  };
}

/** The cases, with the real shapes named after the layer they come from. */
/** UNETR's ConvTranspose3d k2 s2, by the direct kernel or as GEMM + shuffle (what networks run). */
function convTranspose3dCase(path: "direct" | "gemm"): KernelCase {
  return {
    name: `conv_transpose3d k2 s2 64->32, 8x32x32 ${
      path === "direct"
        ? "(UNETR decoder), direct kernel"
        : "as GEMM + shuffle (the path networks use)"
    }`,
    make(gpu, size) {
      const [ci, co, d, h] = size === "small" ? [5, 6, 2, 3] : [64, 32, 8, 32];
      const xs = [1, ci, d, h, h], ws = [ci, co, 2, 2, 2];
      const [xh, wh, bh] = [rand(numel(xs)), rand(numel(ws), 0.2), rand(co)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[co], bh]]);
      const rec0 = gpu.kernels.recorder();
      const prepared = path === "gemm"
        ? prepareConvTranspose3dGemm(gpu, rec0, t[1])
        : prepareConvTranspose3dWeight(gpu, rec0, t[1], t[2]);
      rec0.submit();
      return {
        run: (rec) =>
          prepared instanceof GpuTensor
            ? recordConvTranspose3dGemm(gpu, rec, t[0], prepared, t[2])
            : recordConvTranspose3d(gpu, rec, t[0], prepared),
        ref: () => convTranspose3dRef(xh, xs, wh, co, bh),
        flop: 2 * ci * co * 8 * d * h * h,
        bytes: 4 * (ci + 8 * co) * d * h * h,
        release: releaser(t, prepared),
      };
    },
  };
}

export const KERNEL_CASES: KernelCase[] = [
  {
    name: "conv3d 1x1x1 64->32, 16x64x64, general conv3d kernel",
    make(gpu, size) {
      const [ci, co, d, h] = size === "small" ? [5, 6, 3, 7] : [64, 32, 16, 64];
      const xs = [1, ci, d, h, h], ws = [co, ci, 1, 1, 1];
      const [xh, wh, bh] = [rand(numel(xs)), rand(numel(ws), 0.2), rand(co)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[co], bh]]);
      const rec0 = gpu.kernels.recorder();
      const pw = prepareConv3dWeight(gpu, rec0, t[1], t[2]);
      rec0.submit();
      return {
        run: (rec) => recordConv3d(gpu, rec, t[0], pw),
        ref: () => conv3dRef(xh, wh, bh, { x: xs, w: ws, stride: [1, 1, 1], padding: [0, 0, 0] }).y,
        flop: 2 * ci * co * d * h * h,
        bytes: 4 * (ci + co) * d * h * h,
        release: releaser(t, pw),
      };
    },
  },
  {
    name: "conv3d 1x1x1 64->32, 16x64x64 as one GEMM (the path networks use)",
    make(gpu, size) {
      const [ci, co, d, h] = size === "small" ? [5, 6, 3, 7] : [64, 32, 16, 64];
      const xs = [1, ci, d, h, h], ws = [co, ci, 1, 1, 1];
      const [xh, wh, bh] = [rand(numel(xs)), rand(numel(ws), 0.2), rand(co)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[co], bh]]);
      return {
        run: (rec) =>
          recordConv1x1(gpu, rec, t[0].view([1, ci, d * h, h]), t[1].view([co, ci]), t[2]),
        ref: () => conv3dRef(xh, wh, bh, { x: xs, w: ws, stride: [1, 1, 1], padding: [0, 0, 0] }).y,
        flop: 2 * ci * co * d * h * h,
        bytes: 4 * (ci + co) * d * h * h,
        release: releaser(t),
      };
    },
  },
  convTranspose3dCase("direct"),
  convTranspose3dCase("gemm"),
  {
    name: "group_norm 32 ch / 8 groups, 16x64x64 (UNet3D)",
    make(gpu, size) {
      const [c, g, d, h] = size === "small" ? [6, 3, 2, 5] : [32, 8, 16, 64];
      const xs = [1, c, d, h, h];
      const [xh, gh, bh] = [rand(numel(xs)), rand(c), rand(c)];
      const t = inputs(gpu, [[xs, xh], [[c], gh], [[c], bh]]);
      return {
        run: (rec) => recordGroupNorm(gpu, rec, t[0], { groups: g, gamma: t[1], beta: t[2] }),
        ref: () => groupNormRef(xh, 1, c, g, { gamma: gh, beta: bh }),
        flop: 8 * numel(xs),
        bytes: 2 * 4 * numel(xs),
        release: releaser(t),
      };
    },
  },
  {
    name: "instance_norm 16 ch, 16x128x128 (UNETR blocks: a group per channel, no affine)",
    make(gpu, size) {
      const [c, d, h] = size === "small" ? [4, 2, 5] : [16, 16, 128];
      const xs = [1, c, d, h, h];
      const xh = rand(numel(xs));
      const t = inputs(gpu, [[xs, xh]]);
      return {
        run: (rec) => recordGroupNorm(gpu, rec, t[0], { groups: c }),
        ref: () => groupNormRef(xh, 1, c, c),
        flop: 8 * numel(xs),
        bytes: 2 * 4 * numel(xs),
        release: releaser(t),
      };
    },
  },
  {
    name: "conv2d 7x7 s4 32->64, 256x256 (MiT patch embedding 1)",
    make(gpu, size) {
      const [ci, co, h] = size === "small" ? [3, 5, 19] : [32, 64, 256];
      const xs = [1, ci, h, h], ws = [co, ci, 7, 7];
      const [xh, wh, bh] = [rand(numel(xs)), rand(numel(ws), 0.1), rand(co)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[co], bh]]);
      const ho = Math.floor((h + 6 - 7) / 4) + 1;
      return {
        run: (rec) => recordConv2d(gpu, rec, t[0], t[1], t[2], { stride: 4, padding: 3 }),
        ref: () =>
          conv2dRef(xh, wh, bh, {
            n: 1,
            ci,
            h,
            w: h,
            co,
            kh: 7,
            kw: 7,
            stride: 4,
            padding: 3,
            groups: 1,
          }),
        flop: 2 * ci * co * 49 * ho * ho,
        bytes: 4 * (ci * h * h + co * ho * ho),
        release: releaser(t),
      };
    },
  },
  {
    name: "depthwise conv2d 3x3, 256 ch, 64x64 (Mix-FFN of MiT stage 1)",
    make(gpu, size) {
      const [c, h] = size === "small" ? [6, 9] : [256, 64];
      const xs = [1, c, h, h], ws = [c, 1, 3, 3];
      const [xh, wh, bh] = [rand(numel(xs)), rand(numel(ws), 0.3), rand(c)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[c], bh]]);
      return {
        run: (rec) =>
          recordConv2d(gpu, rec, t[0], t[1], t[2], { stride: 1, padding: 1, groups: c }),
        ref: () =>
          conv2dRef(xh, wh, bh, {
            n: 1,
            ci: c,
            h,
            w: h,
            co: c,
            kh: 3,
            kw: 3,
            stride: 1,
            padding: 1,
            groups: c,
          }),
        flop: 2 * 9 * c * h * h,
        bytes: 2 * 4 * c * h * h,
        release: releaser(t),
      };
    },
  },
  {
    name: "layer_norm 4096 tokens x 64 (MiT stage 1 at a 256 tile)",
    make(gpu, size) {
      const [n, c] = size === "small" ? [37, 24] : [4096, 64];
      const [xh, gh, bh] = [rand(n * c), rand(c), rand(c)];
      const t = inputs(gpu, [[[n, c], xh], [[c], gh], [[c], bh]]);
      return {
        run: (rec) => recordLayerNorm(gpu, rec, t[0], t[1], t[2]),
        ref: () => layerNormRef(xh, gh, bh, c),
        flop: 8 * n * c,
        bytes: 2 * 4 * n * c,
        release: releaser(t),
      };
    },
  },
  {
    name: "gelu 4096 x 256 (Mix-FFN hidden of MiT stage 1)",
    make(gpu, size) {
      const n = size === "small" ? 999 : 4096 * 256;
      const xh = rand(n, 4);
      const t = inputs(gpu, [[[n], xh]]);
      return {
        run: (rec) => recordGelu(gpu, rec, t[0]),
        ref: () => Float64Array.from(xh, geluRef),
        flop: 20 * n,
        bytes: 2 * 4 * n,
        release: releaser(t),
      };
    },
  },
  {
    name: "resize_bilinear 256 ch 16x16 -> 64x64 (SegFormer decode head)",
    make(gpu, size) {
      const [c, h, h2] = size === "small" ? [3, 5, 11] : [256, 16, 64];
      const xh = rand(c * h * h);
      const t = inputs(gpu, [[[1, c, h, h], xh]]);
      return {
        run: (rec) => recordResizeBilinear(gpu, rec, t[0], [h2, h2]),
        ref: () => resizeBilinearRef(xh, c, h, h, h2, h2),
        flop: 8 * c * h2 * h2,
        bytes: 4 * c * (h * h + h2 * h2),
        release: releaser(t),
      };
    },
  },
  {
    name: "conv_transpose2d k4 s2 1->1, 64x64 -> 128x128 (upscaler), batch 8",
    make(gpu, size) {
      const [n, h] = size === "small" ? [2, 7] : [8, 64];
      const xs = [n, 1, h, h], ws = [1, 1, 4, 4];
      const [xh, wh, bh] = [rand(numel(xs)), rand(16, 0.5), rand(1)];
      const t = inputs(gpu, [[xs, xh], [ws, wh], [[1], bh]]);
      return {
        run: (rec) => recordConvTranspose2d(gpu, rec, t[0], t[1], t[2], { stride: 2, padding: 1 }),
        ref: () => convTranspose2dRef(xh, wh, bh, { n, ci: 1, h, wd: h, co: 1, k: 4, s: 2, p: 1 }),
        flop: 2 * 16 * n * h * h,
        bytes: 4 * 5 * n * h * h,
        release: releaser(t),
      };
    },
  },
];
