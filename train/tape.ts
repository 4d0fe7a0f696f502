/**
 * Reverse-mode automatic differentiation over the GPU kernels: a
 * {@linkcode Tape} hands networks an {@linkcode Ops} whose every method runs
 * the forward kernel and records how to run the backward kernels, so the
 * same network code (networks/*.ts) serves inference and training.
 *
 * Gradients are keyed by GPU buffer, not by tensor object: networks pass
 * views (`t.view(shape)`) and reshapes into ops, and a view shares its
 * tensor's buffer and row-major layout, so its gradient is the same flat
 * array. Forward tensors are kept alive until {@linkcode Tape.release}
 * (networks' `ops.free` calls become no-ops), since backward kernels read
 * them. Each backward result is a new tensor; contributions to one buffer
 * are summed in place.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import type { Recorder } from "../kernels/program.ts";
import { emptyTensor, type GpuTensor } from "../kernels/tensor.ts";
import { recordActivationBackward, recordAdd } from "../kernels/elementwise/mod.ts";
import { recordGemm, recordLinear } from "../kernels/matmul/mod.ts";
import { recordCast } from "../kernels/cast/mod.ts";
import { recordTranspose } from "../kernels/transpose/mod.ts";
import { recordChannelSum } from "../kernels/reduce/mod.ts";
import { recordConv2dBackwardInput, recordConv2dBackwardWeight } from "../kernels/conv2d/mod.ts";
import { dropoutKey, recordDropout } from "../kernels/dropout/mod.ts";
import { recordConv3dBackwardInput, recordConv3dBackwardWeight } from "../kernels/conv3d/mod.ts";
import {
  recordConvTranspose2dBackwardInput,
  recordConvTranspose2dBackwardWeight,
} from "../kernels/conv_transpose2d/mod.ts";
import {
  recordConvTranspose3dBackwardInput,
  recordConvTranspose3dBackwardWeight,
} from "../kernels/conv_transpose3d/mod.ts";
import { recordLayerNormBackward } from "../kernels/layer_norm/mod.ts";
import { recordAttentionBackward } from "../kernels/attention/mod.ts";
import { recordGeluBackward } from "../kernels/gelu/mod.ts";
import { recordResizeBilinearBackward } from "../kernels/resize_bilinear/mod.ts";
import { recordBroadcastSum } from "../kernels/add_broadcast/mod.ts";
import { recordBatchNormBackward, recordBatchNormTrain } from "../kernels/batch_norm/mod.ts";
import { recordGroupNormBackward } from "../kernels/group_norm/mod.ts";
import { recordFlattenMaxBackward } from "../kernels/flatten_depth/mod.ts";
import { recordMaxPool3dBackward } from "../kernels/max_pool3d/mod.ts";
import { recordUpsampleNearest3dBackward } from "../kernels/upsample_nearest3d/mod.ts";
import { recordSplitChannels } from "../kernels/concat/mod.ts";
import { gpuOps, PreparedWeights } from "../networks/gpu_ops.ts";
import type { Activation, ConvOptions, Ops } from "../networks/ops.ts";

/** How BatchNorm layers behave under a tape. */
export interface TapeOptions {
  /**
   * BatchNorm running-statistics momentum in training mode (PyTorch's 0.1 by
   * default). SWA's BatchNorm pass sets 1 / (k + 1) for the k-th batch
   * (PyTorch's cumulative average, momentum None).
   */
  bnMomentum?: number;
  /**
   * Seed of this step's dropout and drop-path masks (each op mixes in its
   * index in the step); without it, dropout is off (parity tests, the
   * BatchNorm pass).
   */
  dropoutSeed?: number;
  /**
   * Mixed precision (needs `shader-f16`): linear layers, the bulk of the
   * SegFormer's work, run forward and backward on float16 operands with
   * float32 sums, as torch.autocast runs them; every other op, the loss and
   * the weights stay float32. Pair it with a dynamic loss scale
   * ({@linkcode AdamW}'s `lossScale`), since float16 gradients underflow.
   */
  mixed?: boolean;
}

/** Gradients of an op's inputs, in input order (undefined: not needed). */
type Backward = (gy: GpuTensor) => (GpuTensor | undefined)[];

interface Entry {
  op: string;
  inputs: (GpuTensor | undefined)[];
  output: GpuTensor;
  backward: Backward;
  /**
   * The op wrote part of an output that other entries also write (copyChannels
   * into one tensor): its backward reads the output's gradient without
   * consuming it.
   */
  shared?: boolean;
}

function tuple(v: number | number[] | undefined, d: number, n: number): number[] {
  if (v === undefined) return Array(n).fill(d);
  return typeof v === "number" ? Array(n).fill(v) : v.slice(0, n);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * A recording of one forward pass for one backward pass. Make a tape per
 * training step: it prepares conv3d weights afresh (they change every
 * step) and owns every activation until released.
 */
export class Tape {
  readonly gpu: Gpu;
  readonly rec: Recorder;
  /** The differentiable {@linkcode Ops} networks run on. */
  readonly ops: Ops;
  readonly #inner: Ops;
  readonly #prepared = new PreparedWeights();
  readonly #entries: Entry[] = [];
  readonly #owned: GpuTensor[] = [];
  readonly #needs = new Set<GPUBuffer>();
  readonly #grads = new Map<GPUBuffer, GpuTensor>();
  readonly #options: TapeOptions;
  #dropouts = 0;

  /** `params`: the tensors whose gradients are wanted (the trainable weights). */
  constructor(gpu: Gpu, rec: Recorder, params: Iterable<GpuTensor>, options: TapeOptions = {}) {
    this.gpu = gpu;
    this.rec = rec;
    this.#options = options;
    for (const p of params) this.#needs.add(p.buffer);
    this.#inner = gpuOps(gpu, rec, this.#prepared);
    this.ops = this.#makeOps();
  }

  /** Number of recorded differentiable ops. */
  get length(): number {
    return this.#entries.length;
  }

  /** True when `t`'s gradient will be computed (it depends on a parameter). */
  needs(t: GpuTensor | undefined): t is GpuTensor {
    return t !== undefined && this.#needs.has(t.buffer);
  }

  /**
   * Records the backward pass from `output` with upstream gradient `gy`
   * (e.g. dLoss/dlogits; the tape takes ownership of `gy`).
   */
  backward(output: GpuTensor, gy: GpuTensor): void {
    if (gy.size !== output.size) throw new Error(`backward: gradient ${gy} for output ${output}`);
    this.#accumulate(output, gy);
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i];
      const g = this.#grads.get(e.output.buffer);
      if (!g) continue;
      // Complete: every reader came later in the tape (a shared output is released at the end).
      if (!e.shared) this.#grads.delete(e.output.buffer);
      const gv = sameShape(g.shape, e.output.shape) ? g : g.view(e.output.shape);
      const grads = e.backward(gv);
      if (!e.shared) g.release();
      grads.forEach((gi, j) => {
        const x = e.inputs[j];
        if (!gi) return;
        if (!x || !this.needs(x)) {
          gi.release();
          return;
        }
        this.#accumulate(x, gi);
      });
    }
  }

  /** The gradient of a parameter (owned by the tape), after {@linkcode backward}. */
  grad(t: GpuTensor): GpuTensor | undefined {
    return this.#grads.get(t.buffer);
  }

  /** Takes the gradient of a parameter out of the tape (the caller releases it). */
  takeGrad(t: GpuTensor): GpuTensor | undefined {
    const g = this.#grads.get(t.buffer);
    this.#grads.delete(t.buffer);
    return g;
  }

  /** Releases every activation and remaining gradient. Safe once the work is submitted. */
  release(): void {
    for (const t of this.#owned) if (!t.released) t.release();
    for (const g of this.#grads.values()) g.release();
    this.#owned.length = 0;
    this.#grads.clear();
    this.#entries.length = 0;
    this.#prepared.release();
  }

  #accumulate(x: GpuTensor, g: GpuTensor): void {
    const prev = this.#grads.get(x.buffer);
    if (!prev) {
      this.#grads.set(x.buffer, g);
      return;
    }
    const gv = sameShape(g.shape, prev.shape) ? g : g.view(prev.shape);
    recordAdd(this.gpu, this.rec, prev, gv, { inPlace: true });
    g.release();
  }

  /**
   * y = x · Wᵀ + b on float16 copies of x and W (sums and bias in f32, y
   * rounded to f16 then widened, as autocast's f16 output); the backward
   * GEMMs run on the same copies.
   */
  #linearF16(x: GpuTensor, w: GpuTensor, b: GpuTensor | undefined): GpuTensor {
    const { gpu, rec } = this;
    const half = (t: GpuTensor) => this.#own(recordCast(gpu, rec, t, "f16"));
    const x16 = half(x), w16 = half(w);
    const y16 = recordLinear(gpu, rec, x16, w16, b); // the GEMM adds an f32 bias to its f32 sums
    const y = recordCast(gpu, rec, y16, "f32");
    y16.release();
    return this.#record(
      "linear",
      y,
      [x, w, b],
      (gy) => this.#linearBackward(gy, x, w, b, x16, w16),
    );
  }

  /**
   * dX, dW and db of y = x · Wᵀ + b. The GEMMs take `xo` and `wo`: x and W
   * themselves, or their f16 copies (mixed precision), in which case dY is
   * cast to f16 for them and their results widened to f32. db is summed from
   * the f32 dY.
   */
  #linearBackward(
    gy: GpuTensor,
    x: GpuTensor,
    w: GpuTensor,
    b: GpuTensor | undefined,
    xo: GpuTensor,
    wo: GpuTensor,
  ): (GpuTensor | undefined)[] {
    const { gpu, rec } = this;
    const dt = xo.dtype === "f16" ? "f16" : "f32";
    const [o, i] = w.shape;
    const rows = x.size / i;
    // An operand in the GEMMs' dtype (the tensor itself in f32; releasing a cast copy is safe).
    const operand = (t: GpuTensor) => dt === "f32" ? t : recordCast(gpu, rec, t, dt);
    const done = (t: GpuTensor, of: GpuTensor) => t !== of && t.release();
    const widen = (t: GpuTensor) => {
      if (dt === "f32") return t;
      const f = recordCast(gpu, rec, t, "f32");
      t.release();
      return f;
    };
    let dx: GpuTensor | undefined, dw: GpuTensor | undefined;
    if (this.needs(x)) {
      // dX (R, I) = dY (R, O) · W (O, I)
      const g = operand(gy);
      const d = emptyTensor(gpu, x.shape, dt);
      recordGemm(gpu, rec, { tensor: g, ld: o }, { tensor: wo, ld: i }, { tensor: d, ld: i }, {
        m: rows,
        n: i,
        k: o,
        layout: "nn",
      });
      done(g, gy);
      dx = widen(d);
    }
    if (this.needs(w)) {
      // dW (O, I) = dYᵀ (O, R) · X (R, I)
      const gt = recordTranspose(gpu, rec, gy, [1, rows, o]);
      const g = operand(gt);
      done(gt, g);
      const d = emptyTensor(gpu, w.shape, dt);
      recordGemm(gpu, rec, { tensor: g, ld: rows }, { tensor: xo, ld: i }, { tensor: d, ld: i }, {
        m: o,
        n: i,
        k: rows,
        layout: "nn",
      });
      g.release();
      dw = widen(d);
    }
    const db = this.needs(b) ? recordChannelSum(gpu, rec, gy, rows, o, 1) : undefined;
    return [dx, dw, db];
  }

  #own(t: GpuTensor): GpuTensor {
    this.#owned.push(t);
    return t;
  }

  /** Records an op: `output` depends on `inputs`; `backward` maps dL/doutput to dL/dinputs. */
  #record(
    op: string,
    output: GpuTensor,
    inputs: (GpuTensor | undefined)[],
    backward: Backward,
  ): GpuTensor {
    this.#own(output);
    if (inputs.some((x) => this.needs(x))) {
      this.#needs.add(output.buffer);
      this.#entries.push({ op, inputs, output, backward });
    }
    return output;
  }

  #copy(t: GpuTensor): GpuTensor {
    const c = emptyTensor(this.gpu, t.shape, "f32");
    this.rec.copy(t.buffer, 0, c.buffer, 0, t.byteLength);
    return c;
  }

  #bias(b: GpuTensor | undefined, gy: GpuTensor): GpuTensor | undefined {
    if (!this.needs(b)) return undefined;
    const [n, c] = gy.shape;
    return recordChannelSum(this.gpu, this.rec, gy, n, c, gy.size / (n * c));
  }

  #unsupported(op: string): never {
    throw new Error(
      `${op} is not differentiable: training supports tiles whose every activation fits one ` +
        `storage binding (use a smaller tile or batch)`,
    );
  }

  #makeOps(): Ops {
    const { gpu, rec } = this;
    const inner = this.#inner;
    const need = (t: GpuTensor | undefined) => this.needs(t);
    const ops: Ops = {
      gpu,
      rec,
      conv3d: (x, w, b, o: ConvOptions = {}) => {
        const y = inner.conv3d(x, w, b, o);
        const conv = { stride: tuple(o.stride, 1, 3), padding: tuple(o.padding, 0, 3) } as {
          stride: [number, number, number];
          padding: [number, number, number];
        };
        return this.#record("conv3d", y, [x, w, b], (gy) => [
          need(x) ? recordConv3dBackwardInput(gpu, rec, gy, w, x.shape, conv) : undefined,
          need(w) ? recordConv3dBackwardWeight(gpu, rec, x, gy, w.shape, conv) : undefined,
          this.#bias(b, gy),
        ]);
      },
      convTranspose3d: (x, w, stride) => {
        const y = inner.convTranspose3d(x, w, stride);
        return this.#record("convTranspose3d", y, [x, w], (gy) => [
          need(x) ? recordConvTranspose3dBackwardInput(gpu, rec, gy, w, x.shape) : undefined,
          need(w) ? recordConvTranspose3dBackwardWeight(gpu, rec, x, gy, w.shape) : undefined,
        ]);
      },
      groupNorm: (x, groups, gamma, beta, a?: Activation) => {
        const y = inner.groupNorm(x, groups, gamma, beta, a);
        const activation = a === undefined || a === "none"
          ? "none" as const
          : a === "relu"
          ? "relu" as const
          : "leaky_relu" as const;
        const slope = typeof a === "object" ? a.leakyRelu : undefined;
        return this.#record("groupNorm", y, [x, gamma, beta], (gy) => {
          const r = recordGroupNormBackward(gpu, rec, x, gy, {
            groups,
            gamma,
            beta,
            activation,
            slope,
          });
          return [r.dx, r.dgamma, r.dbeta];
        });
      },
      maxPool3d: (x) => {
        const y = inner.maxPool3d(x);
        return this.#record("maxPool3d", y, [x], (gy) => [
          recordMaxPool3dBackward(gpu, rec, x, gy),
        ]);
      },
      upsampleNearest3d: (x, size) => {
        const y = inner.upsampleNearest3d(x, size);
        return this.#record("upsampleNearest3d", y, [x], (gy) => [
          recordUpsampleNearest3dBackward(gpu, rec, gy, x.shape),
        ]);
      },
      concat: (xs) => {
        const y = inner.concat(xs);
        return this.#record(
          "concat",
          y,
          xs,
          (gy) => recordSplitChannels(gpu, rec, gy, xs.map((x) => x.shape[1])),
        );
      },
      add: (a, b) => {
        const y = inner.add(a, b);
        return this.#record("add", y, [a, b], (gy) => [
          need(a) ? this.#copy(gy) : undefined,
          need(b) ? this.#copy(gy) : undefined,
        ]);
      },
      addBroadcast: (a, b) => {
        const y = inner.addBroadcast(a, b);
        return this.#record("addBroadcast", y, [a, b], (gy) => [
          need(a) ? this.#copy(gy) : undefined,
          need(b) ? recordBroadcastSum(gpu, rec, gy, b.shape) : undefined,
        ]);
      },
      relu: (x) => {
        const y = inner.relu(x);
        return this.#record("relu", y, [x], (gy) => [
          recordActivationBackward(gpu, rec, y, gy, "relu"),
        ]);
      },
      leakyRelu: (x, slope) => {
        const y = inner.leakyRelu(x, slope);
        return this.#record("leakyRelu", y, [x], (gy) => [
          recordActivationBackward(gpu, rec, y, gy, "leaky_relu", { slope }),
        ]);
      },
      conv2d: (x, w, b, o: ConvOptions = {}) => {
        const y = inner.conv2d(x, w, b, o);
        const conv = {
          stride: tuple(o.stride, 1, 2) as [number, number],
          padding: tuple(o.padding, 0, 2) as [number, number],
          groups: o.groups ?? 1,
        };
        return this.#record("conv2d", y, [x, w, b], (gy) => [
          need(x) ? recordConv2dBackwardInput(gpu, rec, gy, w, x.shape, conv) : undefined,
          need(w) ? recordConv2dBackwardWeight(gpu, rec, x, gy, w.shape, conv) : undefined,
          this.#bias(b, gy),
        ]);
      },
      convTranspose2d: (x, w, b, stride, padding) => {
        const y = inner.convTranspose2d(x, w, b, stride, padding);
        const o = { stride, padding };
        return this.#record("convTranspose2d", y, [x, w, b], (gy) => [
          need(x) ? recordConvTranspose2dBackwardInput(gpu, rec, gy, w, x.shape, o) : undefined,
          need(w) ? recordConvTranspose2dBackwardWeight(gpu, rec, x, gy, w.shape, o) : undefined,
          this.#bias(b, gy),
        ]);
      },
      linear: (x, w, b) => {
        if (this.#options.mixed) return this.#linearF16(x, w, b);
        const y = inner.linear(x, w, b);
        return this.#record(
          "linear",
          y,
          [x, w, b],
          (gy) => this.#linearBackward(gy, x, w, b, x, w),
        );
      },
      conv1x1: (x, w, b) => {
        const y = inner.conv1x1(x, w, b);
        return this.#record("conv1x1", y, [x, w, b], (gy) => {
          const [n, ci, h, wd] = x.shape;
          const co = w.shape[0], hw = h * wd;
          let dx: GpuTensor | undefined, dw: GpuTensor | undefined;
          if (need(x)) {
            // dX_n (Ci, HW) = Wᵀ (Ci, Co) · dY_n (Co, HW)
            const wt = recordTranspose(gpu, rec, w, [1, co, ci]);
            dx = emptyTensor(gpu, x.shape, "f32");
            for (let s = 0; s < n; s++) {
              recordGemm(
                gpu,
                rec,
                { tensor: wt, ld: co },
                {
                  tensor: gy,
                  offset: s * co * hw,
                  ld: hw,
                },
                { tensor: dx, offset: s * ci * hw, ld: hw },
                {
                  m: ci,
                  n: hw,
                  k: co,
                  layout: "nn",
                },
              );
            }
            wt.release();
          }
          if (need(w)) {
            // dW (Co, Ci) = Σ_n dY_n (Co, HW) · X_nᵀ (HW, Ci)
            dw = emptyTensor(gpu, w.shape, "f32");
            for (let s = 0; s < n; s++) {
              recordGemm(
                gpu,
                rec,
                { tensor: gy, offset: s * co * hw, ld: hw },
                {
                  tensor: x,
                  offset: s * ci * hw,
                  ld: hw,
                },
                { tensor: dw, ld: ci },
                {
                  m: co,
                  n: ci,
                  k: hw,
                  layout: "nt",
                  accumulate: s > 0,
                },
              );
            }
          }
          return [dx, dw, this.#bias(b, gy)];
        });
      },
      layerNorm: (x, gamma, beta, eps = 1e-5) => {
        const y = inner.layerNorm(x, gamma, beta, eps);
        return this.#record("layerNorm", y, [x, gamma, beta], (gy) => {
          const r = recordLayerNormBackward(gpu, rec, x, gamma, gy, { eps });
          return [r.dx, r.dgamma, r.dbeta];
        });
      },
      dropout: (x, p, unit = "element") => {
        const seed = this.#options.dropoutSeed;
        if (seed === undefined || p <= 0) return x;
        const o = {
          p,
          key: dropoutKey(seed, this.#dropouts++),
          per: unit === "sample"
            ? x.size / x.shape[0]
            : unit === "channel"
            ? x.size / (x.shape[0] * x.shape[1])
            : 1,
        };
        const y = recordDropout(gpu, rec, x, o);
        return this.#record("dropout", y, [x], (gy) => [recordDropout(gpu, rec, gy, o)]);
      },
      gelu: (x) => {
        const y = inner.gelu(x);
        return this.#record("gelu", y, [x], (gy) => [recordGeluBackward(gpu, rec, x, gy)]);
      },
      attention: (q, k, v, heads) => {
        const y = inner.attention(q, k, v, heads);
        return this.#record("attention", y, [q, k, v], (gy) => {
          const r = recordAttentionBackward(gpu, rec, q, k, v, gy, { heads });
          return [r.dq, r.dk, r.dv];
        });
      },
      resizeBilinear: (x, size) => {
        const y = inner.resizeBilinear(x, size);
        return this.#record("resizeBilinear", y, [x], (gy) => [
          recordResizeBilinearBackward(gpu, rec, gy, x.shape),
        ]);
      },
      batchNorm: (x, gamma, beta, mean, variance, a) => {
        const relu = a === "relu";
        if (a !== undefined && a !== "none" && !relu) {
          throw new Error("batchNorm under a tape supports relu or no activation");
        }
        const r = recordBatchNormTrain(gpu, rec, x, {
          weight: gamma,
          bias: beta,
          runningMean: mean,
          runningVar: variance,
        }, { relu, momentum: this.#options.bnMomentum ?? 0.1 });
        this.#own(r.mean);
        this.#own(r.invstd);
        return this.#record("batchNorm", r.y, [x, gamma, beta], (gy) => {
          const g = recordBatchNormBackward(gpu, rec, x, gy, {
            weight: gamma,
            mean: r.mean,
            invstd: r.invstd,
            y: r.y,
          }, { relu });
          return [g.dx, g.dweight, g.dbias];
        });
      },
      transpose: (x, shape) => {
        const y = inner.transpose(x, shape);
        const [b, m, n] = x.shape;
        return this.#record("transpose", y, [x], (gy) => [
          recordTranspose(gpu, rec, gy, [b, n, m]),
        ]);
      },
      flattenMax: (x) => {
        const y = inner.flattenMax(x);
        return this.#record("flattenMax", y, [x], (gy) => [
          recordFlattenMaxBackward(gpu, rec, x, gy),
        ]);
      },
      empty: (shape) => this.#own(inner.empty(shape)),
      // The chunked last convolution of the 3D encoders (convMaxOverDepth), when a tile's
      // full output is over the binding limit: weight rows, and channel ranges of one output.
      rows: (w, r0, r1) => {
        const y = inner.rows(w, r0, r1); // owned by the tape's prepared weights, not #owned
        if (!this.needs(w)) return y;
        this.#needs.add(y.buffer);
        this.#entries.push({
          op: "rows",
          inputs: [w],
          output: y,
          backward: (gy) => {
            // dW: zeros, with rows [r0, r1) from dy.
            const dw = emptyTensor(gpu, w.shape, "f32");
            const row = w.size / w.shape[0] * 4;
            rec.clear(dw.buffer, 0, dw.byteLength);
            rec.copy(gy.buffer, 0, dw.buffer, r0 * row, (r1 - r0) * row);
            return [dw];
          },
        });
        return y;
      },
      copyChannels: (dst, src, c0) => {
        inner.copyChannels(dst, src, c0);
        if (!this.needs(src)) return;
        this.#needs.add(dst.buffer);
        this.#entries.push({
          op: "copyChannels",
          inputs: [src],
          output: dst,
          shared: true,
          backward: (gy) => {
            // dsrc: channels [c0, c0 + c) of dy, batch item by batch item.
            const [n, c] = src.shape, channels = dst.shape[1];
            const plane = src.size / (n * c) * 4;
            const ds = emptyTensor(gpu, src.shape, "f32");
            for (let i = 0; i < n; i++) {
              rec.copy(gy.buffer, (i * channels + c0) * plane, ds.buffer, i * c * plane, c * plane);
            }
            return [ds];
          },
        });
      },
      channel: () => this.#unsupported("channel"),
      reshape: (x, shape) => {
        const y = x.reshape(shape);
        this.#own(y);
        return y;
      },
      free: () => {},
    };
    return ops;
  }
}
