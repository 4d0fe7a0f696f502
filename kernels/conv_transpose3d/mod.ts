/**
 * `conv_transpose3d` launchers: PyTorch `ConvTranspose3d` with kernel 2,
 * stride 2 and padding 0 (MONAI UNETR's up-sampling), optional bias:
 * (N, Ci, D, H, W) -> (N, Co, 2D, 2H, 2W) with weight (Ci, Co, 2, 2, 2).
 *
 * Weights are repacked once by {@linkcode prepareConvTranspose3dWeight} into
 * the uniform-buffer block layout of `conv3d` (see `conv3d/mod.ts`). Tensors
 * larger than the binding limit are split over batch items, output-channel
 * groups and input-channel ranges (partial sums accumulated in the output).
 *
 * @module
 */

import source from "./conv_transpose3d.wgsl" with { type: "text" };
import shuffleSource from "./shuffle.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder, spareBinding } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import { recordGemm } from "../matmul/mod.ts";
import { recordTranspose } from "../transpose/mod.ts";
import {
  checkPlane,
  type Conv3dWeight,
  packWeights,
  planesPerWindow,
  UNIFORM_WINDOW,
} from "../conv3d/mod.ts";

const UNIFORM_VEC4 = (UNIFORM_WINDOW - 256) / 16 + 1;

/**
 * Records the repacking of a ConvTranspose3d weight (Ci, Co, 2, 2, 2) and an
 * optional bias (Co). Do it once per layer when the weights are loaded.
 */
export function prepareConvTranspose3dWeight(
  gpu: Gpu,
  rec: Recorder,
  weight: GpuTensor,
  bias?: GpuTensor,
): Conv3dWeight {
  const [ci, co, kd, kh, kw] = weight.shape;
  if (weight.shape.length !== 5 || weight.dtype !== "f32" || kd !== 2 || kh !== 2 || kw !== 2) {
    throw new Error(`conv_transpose3d weight must be f32 (Ci, Co, 2, 2, 2), got ${weight}`);
  }
  return packWeights(gpu, rec, weight, bias, {
    shape: [co, ci, 2, 2, 2],
    k: 8,
    sCo: 8,
    sCi: co * 8,
    label: "conv_transpose3d",
  });
}

/**
 * Records the transposed convolution of `x` (N, Ci, D, H, W) with prepared
 * weights (kernel 2, stride 2) into a new (N, Co, 2D, 2H, 2W) tensor.
 */
export function recordConvTranspose3d(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: Conv3dWeight,
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`conv_transpose3d needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  const [n, ci, d, h, w] = x.shape;
  const [co, wci, kd, kh, kw] = weight.shape;
  if (wci !== ci || kd !== 2 || kh !== 2 || kw !== 2) {
    throw new Error(
      `conv_transpose3d: input ${x} does not match prepared weight (Co, Ci, k) [${weight.shape}]`,
    );
  }
  const y = emptyTensor(gpu, [n, co, 2 * d, 2 * h, 2 * w], "f32");
  const cob = weight.cob;
  const c4 = cob / 4;
  const kernel = gpu.kernels.get({ name: "conv_transpose3d", source, defines: { COB: cob } });

  const limit = gpu.maxBinding;
  const planeIn = d * h * w;
  const planeOut = 8 * planeIn;
  checkPlane("conv_transpose3d", x, planeIn, limit);
  checkPlane("conv_transpose3d", y, planeOut, limit);
  const cpx = planesPerWindow(planeIn, limit);
  const cpy = planesPerWindow(planeOut, limit);
  const sliceVec4 = 8 * c4;
  const blockVec4 = weight.blockVec4;
  const allFit = weight.blocks * blockVec4 <= UNIFORM_VEC4;

  let nPer = 1;
  if (ci <= cpx && co <= cpy) {
    nPer = Math.max(1, Math.min(n, Math.floor(cpx / ci), Math.floor(cpy / co)));
  }
  let chanPer = Math.min(co, cpy);
  if (!allFit) chanPer = Math.min(chanPer, cob);
  if (chanPer >= cob) chanPer -= chanPer % cob;
  let ciPer = Math.min(ci, cpx);
  if (!allFit) ciPer = Math.min(ciPer, Math.floor((UNIFORM_VEC4 - c4) / sliceVec4));

  const wg = 64;
  const xblocks = Math.ceil(w / 4);
  const gpb = Math.ceil((2 * d * h * xblocks) / wg);
  for (let n0 = 0; n0 < n; n0 += nPer) {
    const nn = Math.min(nPer, n - n0);
    for (let co0 = 0; co0 < co;) {
      const b0 = Math.floor(co0 / cob);
      let co1 = Math.min(co, co0 + chanPer);
      if (chanPer < cob) co1 = Math.min(co1, (b0 + 1) * cob);
      const cblocks = Math.ceil(co1 / cob) - b0;
      const out = bindWindow(y, (n0 * co + co0) * planeOut, ((nn - 1) * co + co1 - co0) * planeOut);
      for (let c0 = 0; c0 < ci; c0 += ciPer) {
        const c1 = Math.min(ci, c0 + ciPer);
        const input = bindWindow(x, (n0 * ci + c0) * planeIn, ((nn - 1) * ci + c1 - c0) * planeIn);
        const data = b0 * blockVec4 + c4 + c0 * sliceVec4;
        const from = allFit ? 0 : (c0 === 0 ? data - c4 : data);
        const offset = Math.floor((from * 16) / 256) * 256;
        rec.dispatch({
          kernel,
          uniforms: [
            d,
            h,
            w,
            ci * planeIn,
            co * planeOut,
            c1 - c0,
            co0 - b0 * cob,
            co1 - co0,
            nn,
            cblocks,
            gpb,
            xblocks,
            input.base,
            out.base,
            data - offset / 16,
            blockVec4,
            c0 === 0 ? 1 : 0,
          ],
          bindings: [
            { buffer: weight.buffer, offset, size: UNIFORM_WINDOW },
            input.binding,
            out.binding,
          ],
          invocations: nn * cblocks * gpb * wg,
        });
      }
      co0 = co1;
    }
  }
  return y;
}

/**
 * The GEMM form of a ConvTranspose3d k2 s2 weight (Ci, Co, 2, 2, 2): its
 * (8·Co, Ci) transpose, row co·8 + tap. Do it once per layer.
 */
export function prepareConvTranspose3dGemm(
  gpu: Gpu,
  rec: Recorder,
  weight: GpuTensor,
): GpuTensor {
  const [ci, co, kd, kh, kw] = weight.shape;
  if (weight.shape.length !== 5 || weight.dtype !== "f32" || kd !== 2 || kh !== 2 || kw !== 2) {
    throw new Error(`conv_transpose3d weight must be f32 (Ci, Co, 2, 2, 2), got ${weight}`);
  }
  return recordTranspose(gpu, rec, weight, [1, ci, co * 8]).reshape([co * 8, ci]);
}

/**
 * True when {@linkcode recordConvTranspose3dGemm} can run `x` (N, Ci, D, H, W)
 * to `co` channels: one batch item's GEMM result (8·Co x D·H·W) and output
 * fit one storage binding each.
 */
export function convTranspose3dGemmFits(gpu: Gpu, x: GpuTensor, co: number): boolean {
  const [, , d, h, w] = x.shape;
  return 8 * co * d * h * w * 4 <= gpu.maxBinding;
}

/**
 * ConvTranspose3d k2 s2 as GEMMs: per batch item, C (8·Co, DHW) = Wᵀ (8·Co,
 * Ci) · X (Ci, DHW) on the matmul kernel, then `shuffle.wgsl` scatters C
 * into (Co, 2D, 2H, 2W) and adds the bias. The same result as
 * {@linkcode recordConvTranspose3d}, about 4x faster on llvmpipe (the matmul
 * kernel's blocking against the direct kernel's scattered taps).
 */
export function recordConvTranspose3dGemm(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  wt: GpuTensor,
  bias?: GpuTensor,
): GpuTensor {
  if (x.shape.length !== 5 || x.dtype !== "f32") {
    throw new Error(`conv_transpose3d needs an f32 (N, C, D, H, W) input, got ${x}`);
  }
  const [n, ci, d, h, w] = x.shape;
  const [rows, wci] = wt.shape;
  const co = rows / 8;
  if (wci !== ci || rows % 8 !== 0) {
    throw new Error(`conv_transpose3d: input ${x} does not match GEMM weight ${wt}`);
  }
  if (!convTranspose3dGemmFits(gpu, x, co)) {
    throw new Error(`conv_transpose3d: one batch item of ${x} is over the binding limit as a GEMM`);
  }
  const plane = d * h * w;
  const y = emptyTensor(gpu, [n, co, 2 * d, 2 * h, 2 * w], "f32");
  const c = emptyTensor(gpu, [rows, plane], "f32");
  const shuffle = gpu.kernels.get({ name: "conv_transpose3d/shuffle", source: shuffleSource });
  for (let i = 0; i < n; i++) {
    recordGemm(gpu, rec, { tensor: wt, ld: ci }, { tensor: x, offset: i * ci * plane, ld: plane }, {
      tensor: c,
      ld: plane,
    }, { m: rows, n: plane, k: ci, layout: "nn" });
    const out = bindWindow(y, i * co * 8 * plane, co * 8 * plane);
    rec.dispatch({
      kernel: shuffle,
      uniforms: [co, d, h, w, 0, out.base, bias ? 1 : 0],
      bindings: [c, bias ?? spareBinding(gpu.device), out.binding],
      invocations: co * plane,
    });
  }
  c.release(); // pooled: a later user's commands come after these
  return y;
}

export {
  recordConvTranspose3dBackwardInput,
  recordConvTranspose3dBackwardWeight,
} from "./backward.ts";
