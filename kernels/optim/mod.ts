/**
 * `optim` kernels: PyTorch's AdamW with global gradient-norm clipping
 * (`clip_grad_norm_` then `AdamW.step`, all on the GPU: the clip factor is
 * computed into a buffer the update kernel reads, so a step needs no
 * readback), an optional dynamic loss scale for mixed precision (torch.amp's
 * GradScaler, also kept on the GPU: overflowed steps are skipped by the
 * update kernel itself), and SWA's running average of parameters.
 *
 * @module
 */

import adamwSource from "./adamw.wgsl" with { type: "text" };
import clipSource from "./clip.wgsl" with { type: "text" };
import scaleGradSource from "./scale_grad.wgsl" with { type: "text" };
import sumsqSource from "./sumsq.wgsl" with { type: "text" };
import swaSource from "./swa.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor, uploadTensor } from "../tensor.ts";

/** AdamW hyper-parameters (defaults: PyTorch's, with the seed's effective weight decay 0.01). */
export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** Clip the global L2 norm of the gradients to this (PyTorch clip_grad_norm_); none when absent. */
  maxGradNorm?: number;
  /** A dynamic loss scale (mixed precision); none when absent. */
  lossScale?: LossScaleOptions;
}

/** torch.amp.GradScaler's settings (its defaults; backoff 0.5 and growth 2 are fixed). */
export interface LossScaleOptions {
  /** The first scale (default 65536). */
  init?: number;
  /** Finite steps in a row after which the scale doubles (default 2000). */
  growthInterval?: number;
}

/** Layout of {@linkcode AdamW.state}; see clip.wgsl. */
export const OPTIM_STATE = {
  factor: 0,
  norm: 1,
  lossScale: 2,
  goodSteps: 3,
  skipped: 4,
  skippedTotal: 5,
} as const;

const CHUNK = 4096;

function fits(gpu: Gpu, t: GpuTensor, what: string): void {
  if (t.byteLength > gpu.maxBinding) throw new Error(`${what}: ${t} is over the binding limit`);
}

/** AdamW state (first and second moments, step count) for a list of parameters. */
export class AdamW {
  readonly gpu: Gpu;
  readonly params: readonly GpuTensor[];
  readonly m: GpuTensor[];
  readonly v: GpuTensor[];
  readonly options: Required<Omit<AdamWOptions, "maxGradNorm" | "lossScale">> & {
    maxGradNorm?: number;
    lossScale?: Required<LossScaleOptions>;
  };
  /** Steps recorded (PyTorch's `state["step"]`, plus any the loss scale skipped). */
  t = 0;
  /**
   * The GPU-side state of the last step, indexed by {@linkcode OPTIM_STATE}:
   * the factor gradients were multiplied by (clip factor / loss scale), the
   * unscaled gradient norm, the loss scale (1 without one), finite steps
   * since it changed, whether the step was skipped, and steps skipped so far.
   * Part of a resumable training state.
   */
  readonly state: GpuTensor;
  readonly #partials: GpuTensor;
  readonly #offsets: number[] = [];

  constructor(gpu: Gpu, params: readonly GpuTensor[], o: AdamWOptions = {}) {
    this.gpu = gpu;
    this.params = params;
    this.options = {
      beta1: o.beta1 ?? 0.9,
      beta2: o.beta2 ?? 0.999,
      eps: o.eps ?? 1e-8,
      weightDecay: o.weightDecay ?? 0.01,
      maxGradNorm: o.maxGradNorm,
      lossScale: o.lossScale && {
        init: o.lossScale.init ?? 65536,
        growthInterval: o.lossScale.growthInterval ?? 2000,
      },
    };
    const zeros = (t: GpuTensor) => uploadTensor(gpu, t.shape, "f32", new Float32Array(t.size));
    this.m = params.map(zeros);
    this.v = params.map(zeros);
    let total = 0;
    for (const p of params) {
      fits(gpu, p, "AdamW");
      this.#offsets.push(total);
      total += Math.ceil(p.size / CHUNK);
    }
    this.#partials = emptyTensor(gpu, [Math.max(1, total)], "f32", "adamw partials");
    const ls = this.options.lossScale?.init ?? 1;
    this.state = uploadTensor(gpu, [8], "f32", new Float32Array([1, 0, ls, 0, 0, 0, 0, 0]));
  }

  /**
   * Records the loss gradient's multiplication by the loss scale, in place
   * (do it before the backward pass); nothing without a loss scale.
   */
  scaleLoss(rec: Recorder, gy: GpuTensor): void {
    if (!this.options.lossScale) return;
    fits(this.gpu, gy, "loss scale");
    rec.dispatch({
      kernel: this.gpu.kernels.get({ name: "optim/scale_grad", source: scaleGradSource }),
      uniforms: [gy.size, 0],
      bindings: [gy, this.state],
      invocations: Math.ceil(gy.size / 4),
    });
  }

  /** Records one step with learning rate `lr`; `grads[i]` is the gradient of `params[i]`. */
  step(rec: Recorder, grads: readonly GpuTensor[], lr: number): void {
    const gpu = this.gpu, o = this.options;
    if (grads.length !== this.params.length) {
      throw new Error(`AdamW: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    if (o.maxGradNorm !== undefined || o.lossScale) {
      const sumsq = gpu.kernels.get({ name: "optim/sumsq", source: sumsqSource });
      grads.forEach((g, i) => {
        rec.dispatch({
          kernel: sumsq,
          uniforms: [g.size, 0, this.#offsets[i], CHUNK],
          bindings: [g, this.#partials],
          invocations: Math.ceil(g.size / CHUNK),
        });
      });
      rec.dispatch({
        kernel: gpu.kernels.get({ name: "optim/clip", source: clipSource }),
        uniforms: [
          this.#partials.size,
          f32bits(o.maxGradNorm ?? 0),
          o.lossScale ? 1 : 0,
          f32bits(o.lossScale?.growthInterval ?? 0),
        ],
        bindings: [this.#partials, this.state],
        invocations: 1,
      });
    }
    this.t++;
    const bc1 = 1 - o.beta1 ** this.t, bc2 = 1 - o.beta2 ** this.t;
    const adamw = gpu.kernels.get({ name: "optim/adamw", source: adamwSource });
    const uniforms = (n: number) => [
      n,
      0,
      f32bits(lr),
      f32bits(o.beta1),
      f32bits(o.beta2),
      f32bits(o.eps),
      f32bits(1 - lr * o.weightDecay),
      f32bits(lr / bc1),
      f32bits(Math.sqrt(bc2)),
      f32bits(this.t),
    ];
    this.params.forEach((p, i) => {
      const g = grads[i];
      if (g.size !== p.size) throw new Error(`AdamW: gradient ${g} for parameter ${p}`);
      rec.dispatch({
        kernel: adamw,
        uniforms: uniforms(p.size),
        bindings: [p, g, this.m[i], this.v[i], this.state],
        invocations: Math.ceil(p.size / 4),
      });
    });
  }

  /** Releases the moments and scratch buffers (not the parameters). */
  release(): void {
    for (const t of [...this.m, ...this.v, this.#partials, this.state]) t.release();
  }
}

/**
 * Records avg <- avg + (w - avg) / (count + 1), SWA's equal-weight average
 * after `count` averaged models; count 0 copies w.
 */
export function recordSwaUpdate(
  gpu: Gpu,
  rec: Recorder,
  avg: GpuTensor,
  w: GpuTensor,
  count: number,
): void {
  if (avg.size !== w.size) throw new Error(`SWA: average ${avg} for parameter ${w}`);
  fits(gpu, w, "SWA");
  if (count === 0) {
    rec.copy(w.buffer, 0, avg.buffer, 0, w.byteLength);
    return;
  }
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "optim/swa", source: swaSource }),
    uniforms: [w.size, 0, f32bits(count)],
    bindings: [avg, w],
    invocations: Math.ceil(w.size / 4),
  });
}
