/**
 * `optim` kernels: PyTorch's AdamW with global gradient-norm clipping
 * (`clip_grad_norm_` then `AdamW.step`, all on the GPU: the clip factor is
 * computed into a buffer the update kernel reads, so a step needs no
 * readback), and SWA's running average of parameters.
 *
 * @module
 */

import adamwSource from "./adamw.wgsl" with { type: "text" };
import clipSource from "./clip.wgsl" with { type: "text" };
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
}

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
  readonly options: Required<Omit<AdamWOptions, "maxGradNorm">> & { maxGradNorm?: number };
  /** Steps taken (PyTorch's `state["step"]`). */
  t = 0;
  /** [clip factor, gradient norm] of the last step (factor 1 without clipping). */
  readonly scale: GpuTensor;
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
    this.scale = uploadTensor(gpu, [2], "f32", new Float32Array([1, 0]));
  }

  /** Records one step with learning rate `lr`; `grads[i]` is the gradient of `params[i]`. */
  step(rec: Recorder, grads: readonly GpuTensor[], lr: number): void {
    const gpu = this.gpu, o = this.options;
    if (grads.length !== this.params.length) {
      throw new Error(`AdamW: ${grads.length} gradients for ${this.params.length} parameters`);
    }
    if (o.maxGradNorm !== undefined) {
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
        uniforms: [this.#partials.size, f32bits(o.maxGradNorm)],
        bindings: [this.#partials, this.scale],
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
    ];
    this.params.forEach((p, i) => {
      const g = grads[i];
      if (g.size !== p.size) throw new Error(`AdamW: gradient ${g} for parameter ${p}`);
      rec.dispatch({
        kernel: adamw,
        uniforms: uniforms(p.size),
        bindings: [p, g, this.m[i], this.v[i], this.scale],
        invocations: Math.ceil(p.size / 4),
      });
    });
  }

  /** Releases the moments and scratch buffers (not the parameters). */
  release(): void {
    for (const t of [...this.m, ...this.v, this.#partials, this.scale]) t.release();
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
