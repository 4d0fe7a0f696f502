/**
 * `matmul` kernel launchers: a strided GEMM (`recordGemm`), Linear layers
 * over token rows (`recordLinear`) and 1x1 convolutions over channels-first
 * images (`recordConv1x1`). Operands larger than the binding limit are cut
 * into row, column and K chunks; later K chunks accumulate into C.
 *
 * @module
 */

import source from "./matmul.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder, spareBinding } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** B's layout: "nn" is (K, N); "nt" is (N, K), as PyTorch Linear weights. */
export type GemmLayout = "nn" | "nt";

/** A row-major matrix inside a tensor: element offset of (0, 0) and row stride. */
export interface MatrixRef {
  tensor: GpuTensor;
  /** Element offset of the first element (default 0). */
  offset?: number;
  /** Row stride in elements. */
  ld: number;
}

/** Options of {@linkcode recordGemm}. */
export interface GemmOptions {
  m: number;
  n: number;
  k: number;
  layout: GemmLayout;
  /** Bias vector, added once: per column of C ("col") or per row ("row"). */
  bias?: { tensor: GpuTensor; offset?: number; mode: "col" | "row" };
  /** Add to C's current contents instead of overwriting them. */
  accumulate?: boolean;
  /** Rows of C per invocation (default 16; each value is one more kernel to compile). */
  rows?: 4 | 8 | 16;
}

const COLS = 16; // columns of C per invocation (fixed by the kernel)

/**
 * Workgroup size of the register-blocked kernels: llvmpipe runs a workgroup
 * on one thread, and small outputs (a reduction conv's 256 pixels) need
 * several workgroups to use both cores; 16 costs nothing on large ones.
 */
const WG = 16;

/**
 * Records C = A · B (+ bias) (+ C) for strided matrices. C must not overlap
 * A, B or the bias. Chunks along M, N and K keep every window under
 * `gpu.maxBinding`.
 */
export function recordGemm(
  gpu: Gpu,
  rec: Recorder,
  a: MatrixRef,
  b: MatrixRef,
  c: MatrixRef,
  opts: GemmOptions,
): void {
  const { m, n, k, layout } = opts;
  if (m <= 0 || n <= 0 || k <= 0) return;
  const dtype = gemmDtype(gpu, a.tensor, b.tensor, c.tensor);
  const rows = opts.rows ?? 16;
  const kernel = (acc: boolean, vec: boolean) =>
    gpu.kernels.get({
      name: "matmul",
      source,
      defines: {
        LAYOUT: layout,
        ROWS: rows,
        ACCUMULATE: acc ? "true" : "false",
        VEC: vec ? "true" : "false",
        T: dtype,
        ENABLE: dtype === "f16" ? "enable f16;" : "",
        WG,
      },
    });
  const ao = a.offset ?? 0, bo = b.offset ?? 0, co = c.offset ?? 0;
  const limit = Math.floor((gpu.maxBinding - 256) / 4); // elements per window
  const spanA = (mc: number, kc: number) => (mc - 1) * a.ld + kc;
  const spanB = (kc: number, nc: number) =>
    layout === "nn" ? (kc - 1) * b.ld + nc : (nc - 1) * b.ld + kc;
  const spanC = (mc: number, nc: number) => (mc - 1) * c.ld + nc;
  const halve = (x: number, unit: number) =>
    x > unit ? Math.ceil(x / 2 / unit) * unit : Math.ceil(x / 2);
  let mc = m, nc = n, kc = k;
  for (;;) {
    if (spanA(mc, kc) > limit) {
      if (mc > 1) mc = halve(mc, rows);
      else kc = halve(kc, 4);
    } else if (spanB(kc, nc) > limit) {
      if (layout === "nn" ? kc > 1 : nc > 1) {
        if (layout === "nn") kc = halve(kc, 4);
        else nc = halve(nc, COLS);
      } else if (layout === "nn") nc = halve(nc, COLS);
      else kc = halve(kc, 4);
    } else if (spanC(mc, nc) > limit) {
      if (mc > 1) mc = halve(mc, rows);
      else nc = halve(nc, COLS);
    } else break;
  }
  const biasMode = opts.bias ? (opts.bias.mode === "col" ? 1 : 2) : 0;
  if (opts.bias && opts.bias.tensor.dtype !== "f32") {
    throw new Error(
      `matmul: the bias is added to f32 sums and must be f32, got ${opts.bias.tensor}`,
    );
  }
  for (let m0 = 0; m0 < m; m0 += mc) {
    const mm = Math.min(mc, m - m0);
    for (let n0 = 0; n0 < n; n0 += nc) {
      const nn = Math.min(nc, n - n0);
      for (let k0 = 0; k0 < k; k0 += kc) {
        const kk = Math.min(kc, k - k0);
        const aw = bindWindow(a.tensor, ao + m0 * a.ld + k0, spanA(mm, kk));
        const bStart = layout === "nn" ? bo + k0 * b.ld + n0 : bo + n0 * b.ld + k0;
        const bw = bindWindow(b.tensor, bStart, spanB(kk, nn));
        const cw = bindWindow(c.tensor, co + m0 * c.ld + n0, spanC(mm, nn));
        const first = k0 === 0;
        let biasW = { binding: bw.binding, base: 0 };
        if (opts.bias && first) {
          const bs = (opts.bias.offset ?? 0) + (biasMode === 1 ? n0 : m0);
          biasW = bindWindow(opts.bias.tensor, bs, biasMode === 1 ? nn : mm);
        }
        // vec4 loads where every A and B row starts on a vec4 and no column block is cut.
        const vec = kk % 4 === 0 && a.ld % 4 === 0 && b.ld % 4 === 0 && aw.base % 4 === 0 &&
          bw.base % 4 === 0 && (layout === "nt" || nn % COLS === 0);
        rec.dispatch({
          kernel: kernel(!first || !!opts.accumulate, vec),
          uniforms: [
            mm,
            nn,
            kk,
            a.ld,
            b.ld,
            c.ld,
            aw.base,
            bw.base,
            cw.base,
            biasW.base,
            first ? biasMode : 0,
          ],
          bindings: [
            aw.binding,
            bw.binding,
            biasW.binding,
            cw.binding,
            vec ? aw.binding : spareBinding(gpu.device),
            vec ? bw.binding : spareBinding(gpu.device),
          ],
          invocations: Math.ceil(mm / rows) * Math.ceil(nn / COLS),
        });
      }
    }
  }
}

/**
 * The element type of a GEMM: A, B and C are all f32, or all f16 where the
 * device has `shader-f16` (storage only: products are summed in f32).
 */
function gemmDtype(gpu: Gpu, a: GpuTensor, b: GpuTensor, c: GpuTensor): "f32" | "f16" {
  const dt = a.dtype;
  if ((dt !== "f32" && dt !== "f16") || b.dtype !== dt || c.dtype !== dt) {
    throw new Error(`matmul: A, B and C must all be f32 or all f16, got ${a}, ${b}, ${c}`);
  }
  if (dt === "f16" && !gpu.device.features.has("shader-f16")) {
    throw new Error("matmul: f16 operands need the shader-f16 feature, which this adapter lacks");
  }
  return dt;
}

/** Options of {@linkcode recordLinear}. */
export interface LinearOptions {
  /** Weight layout: "nk" is PyTorch's (out, in) (default); "kn" is (in, out). */
  weightLayout?: "nk" | "kn";
}

/**
 * Records y = x · Wᵀ + bias over the last dimension of `x` (..., K), giving
 * (..., N). Leading dimensions are flattened into rows (B·T tokens).
 */
export function recordLinear(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias?: GpuTensor,
  opts: LinearOptions = {},
): GpuTensor {
  const layout = opts.weightLayout ?? "nk";
  if (weight.shape.length !== 2) throw new Error(`linear: weight must be 2D, got ${weight}`);
  const k = x.shape[x.shape.length - 1];
  const [n, kw] = layout === "nk" ? weight.shape : [weight.shape[1], weight.shape[0]];
  if (kw !== k) throw new Error(`linear: weight ${weight} does not match input ${x}`);
  if (bias && bias.size !== n) throw new Error(`linear: bias ${bias} does not match ${n} outputs`);
  const m = x.size / k;
  const y = emptyTensor(gpu, [...x.shape.slice(0, -1), n], x.dtype);
  recordGemm(gpu, rec, { tensor: x, ld: k }, { tensor: weight, ld: layout === "nk" ? k : n }, {
    tensor: y,
    ld: n,
  }, {
    m,
    n,
    k,
    layout: layout === "nk" ? "nt" : "nn",
    bias: bias ? { tensor: bias, mode: "col" } : undefined,
  });
  return y;
}

/**
 * Records a 1x1 convolution on channels-first images: x (N, Ci, H, W),
 * weight (Co, Ci) or (Co, Ci, 1, 1), optional bias (Co) -> (N, Co, H, W).
 * Each batch item is one GEMM Y (Co, HW) = W (Co, Ci) · X (Ci, HW), so no
 * transpose is needed; a huge Ci is split and accumulated.
 */
export function recordConv1x1(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias?: GpuTensor,
): GpuTensor {
  if (x.shape.length !== 4) throw new Error(`conv1x1: input must be (N, C, H, W), got ${x}`);
  const [batch, ci, h, w] = x.shape;
  const co = weight.shape[0];
  if (weight.size !== co * ci) throw new Error(`conv1x1: weight ${weight} does not match ${x}`);
  const hw = h * w;
  const y = emptyTensor(gpu, [batch, co, h, w], "f32");
  for (let i = 0; i < batch; i++) {
    recordGemm(
      gpu,
      rec,
      { tensor: weight, ld: ci },
      { tensor: x, offset: i * ci * hw, ld: hw },
      { tensor: y, offset: i * co * hw, ld: hw },
      { m: co, n: hw, k: ci, layout: "nn", bias: bias ? { tensor: bias, mode: "row" } : undefined },
    );
  }
  return y;
}
