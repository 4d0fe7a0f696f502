/**
 * `conv2d` kernel launchers: dense convolution (groups = 1, an implicit
 * GEMM) and depthwise convolution (groups = C, with an optional fused
 * GELU), PyTorch semantics (zero padding, weight (Co, Ci/groups, kh, kw)).
 *
 * Input and output may each be channels-first (N, C, H, W) or tokens
 * (N, H·W, C) in raster order, so SegFormer's patch embeddings can emit
 * tokens directly and its reduction and Mix-FFN convolutions can run on
 * tokens without transposes. Tensors over the binding limit are cut into
 * batch items, output-row bands, input-channel chunks (accumulated) and
 * output-channel chunks, each bound as a window.
 *
 * @module
 */

import denseSource from "./conv2d.wgsl" with { type: "text" };
import depthwiseSource from "./depthwise.wgsl" with { type: "text" };
import { GELU_WGSL } from "../gelu/mod.ts";
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Memory layouts: channels-first images, or tokens (row-major (N, H·W, C), i.e. NHWC). */
export type ImageLayout = "nchw" | "tokens";

/** Options of {@linkcode recordConv2d}. */
export interface Conv2dOptions {
  /** Stride (default 1), one value or [y, x]. */
  stride?: number | [number, number];
  /** Zero padding (default 0), one value or [y, x]. */
  padding?: number | [number, number];
  /** 1 (dense) or the channel count (depthwise). Default 1. */
  groups?: number;
  /** Input layout (default "nchw"). Tokens need `size`. */
  inputLayout?: ImageLayout;
  /** Input height and width, for token inputs (N, H·W, C). */
  size?: [number, number];
  /** Output layout (default: the input's). Tokens come out as (N, Ho·Wo, Co). */
  outputLayout?: ImageLayout;
  /** Activation fused after the bias (depthwise only). */
  activation?: "none" | "gelu";
}

interface Strides {
  n: number;
  c: number;
  y: number;
  x: number;
}

function strides(layout: ImageLayout, c: number, h: number, w: number): Strides {
  return layout === "nchw"
    ? { n: c * h * w, c: h * w, y: w, x: 1 }
    : { n: c * h * w, c: 1, y: w * c, x: c };
}

/** Span in elements of the box [c0, c0 + nc) x rows [y0, y0 + ny) x all columns, within one item. */
function span(s: Strides, nc: number, ny: number, w: number, items = 1): number {
  return (items - 1) * s.n + (nc - 1) * s.c + (ny - 1) * s.y + (w - 1) * s.x + 1;
}

const pair = (v: number | [number, number] | undefined, d: number): [number, number] =>
  v === undefined ? [d, d] : typeof v === "number" ? [v, v] : v;

/**
 * Records a 2D convolution of `x` with `weight` (Co, Ci/groups, kh, kw) and
 * an optional `bias` (Co) into a new tensor.
 */
export function recordConv2d(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  opts: Conv2dOptions = {},
): GpuTensor {
  const inLayout = opts.inputLayout ?? "nchw";
  const outLayout = opts.outputLayout ?? inLayout;
  let n: number, ci: number, h: number, w: number;
  if (inLayout === "nchw") {
    if (x.shape.length !== 4) throw new Error(`conv2d: nchw input must be 4D, got ${x}`);
    [n, ci, h, w] = x.shape;
  } else {
    if (x.shape.length !== 3 || !opts.size) {
      throw new Error(`conv2d: token input must be (N, H·W, C) with a size, got ${x}`);
    }
    [n, , ci] = x.shape;
    [h, w] = opts.size;
    if (h * w !== x.shape[1]) throw new Error(`conv2d: size [${opts.size}] does not match ${x}`);
  }
  const [co, cig, kh, kw] = weight.shape;
  const groups = opts.groups ?? 1;
  const [sy, sx] = pair(opts.stride, 1);
  const [py, px] = pair(opts.padding, 0);
  const ho = Math.floor((h + 2 * py - kh) / sy) + 1;
  const wo = Math.floor((w + 2 * px - kw) / sx) + 1;
  if (ho <= 0 || wo <= 0) throw new Error(`conv2d: kernel ${kh}x${kw} larger than padded ${x}`);
  if (bias && bias.size !== co) {
    throw new Error(`conv2d: bias ${bias} does not match ${co} outputs`);
  }
  const depthwise = groups !== 1;
  if (depthwise && (groups !== ci || co !== ci || cig !== 1)) {
    throw new Error(`conv2d: groups must be 1 or the channel count (depthwise), got ${groups}`);
  }
  if (!depthwise && cig !== ci) throw new Error(`conv2d: weight ${weight} does not match ${x}`);
  if (!depthwise && (opts.activation ?? "none") !== "none") {
    throw new Error(`conv2d: a fused activation is only available for depthwise convolutions`);
  }
  const y = emptyTensor(gpu, outLayout === "nchw" ? [n, co, ho, wo] : [n, ho * wo, co], "f32");
  const si = strides(inLayout, ci, h, w);
  const so = strides(outLayout, co, ho, wo);
  const geom = { n, ci, h, w, co, kh, kw, sy, sx, py, px, ho, wo, si, so };
  if (depthwise) recordDepthwise(gpu, rec, x, weight, bias, y, geom, opts.activation ?? "none");
  else recordDense(gpu, rec, x, weight, bias, y, geom);
  return y;
}

interface Geometry {
  n: number;
  ci: number;
  h: number;
  w: number;
  co: number;
  kh: number;
  kw: number;
  sy: number;
  sx: number;
  py: number;
  px: number;
  ho: number;
  wo: number;
  si: Strides;
  so: Strides;
}

/** Input rows [lo, hi] read by output rows [oy0, oy0 + rows), clamped to the image. */
function inputRows(g: Geometry, oy0: number, rows: number): [number, number] {
  const lo = Math.max(0, oy0 * g.sy - g.py);
  const hi = Math.min(g.h - 1, (oy0 + rows - 1) * g.sy - g.py + g.kh - 1);
  return [lo, Math.max(lo, hi)];
}

interface Chunks {
  nb: number;
  rows: number;
  cis: number;
  cos: number;
}

/**
 * Shrinks batch, row, input-channel and output-channel chunks until the
 * input, output and weight windows all fit under `limit` elements.
 */
function planChunks(g: Geometry, limit: number, depthwise: boolean, extraRow = 0): Chunks {
  const c: Chunks = { nb: g.n, rows: g.ho, cis: g.ci, cos: g.co };
  const inSpan = () => {
    const ny = Math.min(g.h, (c.rows - 1 + extraRow) * g.sy + g.kh);
    return span(g.si, depthwise ? c.cos : c.cis, ny, g.w, c.nb);
  };
  const outSpan = () => span(g.so, c.cos, c.rows, g.wo, c.nb);
  const wSpan = () => (depthwise ? 0 : (c.cos - 1) * g.ci * g.kh * g.kw + c.cis * g.kh * g.kw);
  const shrink = (layout: Strides, channels: "cis" | "cos") => {
    // Channels-first windows shrink best by channels, token windows by rows.
    const byChannels = layout.c > layout.x;
    if (byChannels && c[channels] > 1) c[channels] = Math.ceil(c[channels] / 2);
    else if (c.rows > 1) c.rows = Math.ceil(c.rows / 2);
    else if (c[channels] > 1) c[channels] = Math.ceil(c[channels] / 2);
    else throw new Error(`conv2d: one input row does not fit under the binding limit`);
  };
  for (;;) {
    const over = inSpan() > limit || outSpan() > limit || wSpan() > limit;
    if (!over) return c;
    if (c.nb > 1) c.nb = Math.ceil(c.nb / 2);
    else if (inSpan() > limit) shrink(g.si, depthwise ? "cos" : "cis");
    else if (outSpan() > limit) shrink(g.so, "cos");
    else if (c.cos > 1) c.cos = Math.ceil(c.cos / 2);
    else c.cis = Math.ceil(c.cis / 2);
  }
}

/**
 * Workgroup size of the register-blocked kernels: llvmpipe runs a workgroup
 * on one thread, and small outputs (a reduction conv's 256 pixels) need
 * several workgroups to use both cores; 16 costs nothing on large ones.
 */
const WG = 16;

function recordDense(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  y: GpuTensor,
  g: Geometry,
): void {
  const kernel = (acc: boolean) =>
    gpu.kernels.get({
      name: "conv2d",
      source: denseSource,
      defines: { ACCUMULATE: acc ? "true" : "false", WG },
    });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const ch = planChunks(g, limit, false);
  const khw = g.kh * g.kw;
  const wLd = g.ci * khw;
  for (let n0 = 0; n0 < g.n; n0 += ch.nb) {
    const nb = Math.min(ch.nb, g.n - n0);
    for (let oy0 = 0; oy0 < g.ho; oy0 += ch.rows) {
      const rows = Math.min(ch.rows, g.ho - oy0);
      const [lo, hi] = inputRows(g, oy0, rows);
      for (let co0 = 0; co0 < g.co; co0 += ch.cos) {
        const cos = Math.min(ch.cos, g.co - co0);
        const ow = bindWindow(
          y,
          n0 * g.so.n + co0 * g.so.c + oy0 * g.so.y,
          span(g.so, cos, rows, g.wo, nb),
        );
        for (let ci0 = 0; ci0 < g.ci; ci0 += ch.cis) {
          const cis = Math.min(ch.cis, g.ci - ci0);
          const iw = bindWindow(
            x,
            n0 * g.si.n + ci0 * g.si.c + lo * g.si.y,
            span(g.si, cis, hi - lo + 1, g.w, nb),
          );
          const ww = bindWindow(weight, co0 * wLd + ci0 * khw, (cos - 1) * wLd + cis * khw);
          const first = ci0 === 0;
          const bw = bias && first ? bindWindow(bias, co0, cos) : { binding: ww.binding, base: 0 };
          rec.dispatch({
            kernel: kernel(!first),
            uniforms: [
              nb,
              rows,
              g.wo,
              cis,
              cos,
              g.kh,
              g.kw,
              g.sy,
              g.sx,
              g.h,
              g.w,
              oy0,
              g.py,
              g.px,
              lo,
              g.si.n,
              g.si.c,
              g.si.y,
              g.si.x,
              g.so.n,
              g.so.c,
              g.so.y,
              g.so.x,
              wLd,
              iw.base,
              ow.base,
              ww.base,
              bw.base,
              bias && first ? 1 : 0,
            ].map((v) => v >>> 0),
            bindings: [iw.binding, ww.binding, bw.binding, ow.binding],
            invocations: Math.ceil((nb * rows * g.wo) / 16) * Math.ceil(cos / 16),
          });
        }
      }
    }
  }
}

function recordDepthwise(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor | undefined,
  y: GpuTensor,
  g: Geometry,
  activation: "none" | "gelu",
): void {
  const k3 = g.kh === 3 && g.kw === 3 && g.sy === 1 && g.sx === 1 && g.py === 1 && g.px === 1;
  const kernel = gpu.kernels.get({
    name: "depthwise",
    source: GELU_WGSL + depthwiseSource,
    defines: { VARIANT: k3 ? "k3" : "any", ACT: activation },
  });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  // The k3 variant computes rows in pairs and reads one row past an odd chunk.
  const ch = planChunks(g, limit, true, k3 ? 1 : 0);
  for (let n0 = 0; n0 < g.n; n0 += ch.nb) {
    const nb = Math.min(ch.nb, g.n - n0);
    for (let oy0 = 0; oy0 < g.ho; oy0 += ch.rows) {
      const rows = Math.min(ch.rows, g.ho - oy0);
      const [lo, hi] = inputRows(g, oy0, rows + (k3 ? rows % 2 : 0));
      for (let c0 = 0; c0 < g.co; c0 += ch.cos) {
        const cs = Math.min(ch.cos, g.co - c0);
        const iw = bindWindow(
          x,
          n0 * g.si.n + c0 * g.si.c + lo * g.si.y,
          span(g.si, cs, hi - lo + 1, g.w, nb),
        );
        const ow = bindWindow(
          y,
          n0 * g.so.n + c0 * g.so.c + oy0 * g.so.y,
          span(g.so, cs, rows, g.wo, nb),
        );
        const groups = Math.ceil(cs / 4);
        const invocations = k3
          ? nb * groups * Math.ceil(g.wo / 8) * Math.ceil(rows / 2)
          : nb * groups * g.wo * rows;
        rec.dispatch({
          kernel,
          uniforms: [
            nb,
            cs,
            rows,
            g.wo,
            g.h,
            g.w,
            g.kh,
            g.kw,
            g.sy,
            g.sx,
            g.py,
            g.px,
            oy0,
            lo,
            g.si.n,
            g.si.c,
            g.si.y,
            g.si.x,
            g.so.n,
            g.so.c,
            g.so.y,
            g.so.x,
            iw.base,
            ow.base,
            c0,
            bias ? 1 : 0,
          ].map((v) => v >>> 0),
          bindings: [iw.binding, weight, bias ?? weight, ow.binding],
          invocations,
        });
      }
    }
  }
}

export {
  type Conv2dBackwardOptions,
  recordConv2dBackwardInput,
  recordConv2dBackwardWeight,
} from "./backward.ts";
