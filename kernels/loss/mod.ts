/**
 * `loss` kernel launcher: the seed's binary and multilabel training loss,
 * 0.5 · BCE-with-logits + 0.5 · soft Dice (seed-spec 3), with its gradient
 * in the same recording. The loss value goes to a slot of a GPU buffer, so a
 * training loop reads losses back once per epoch, not once per step.
 *
 * @module
 */

import source from "./loss.wgsl" with { type: "text" };
import oneHotSource from "./one_hot.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Options of {@linkcode recordBceDiceLoss}. */
export interface LossOptions {
  /** Where the loss value is written: a f32 tensor and an element index. */
  out: GpuTensor;
  index: number;
  /** Weights of the two terms (seed: 0.5 and 0.5). */
  bceWeight?: number;
  diceWeight?: number;
  /**
   * Targets are 0 outside the papyrus mask, 1 papyrus, 2 ink (one channel),
   * and only mask pixels count in either term (the `loss_mask` recipe change).
   */
  masked?: boolean;
}

const CHUNK = 1024;

/**
 * Records the loss of logits `z` against targets `t` (both (B, L, H, W) or
 * (B, L, P)) and returns dL/dz, a new tensor of z's shape.
 */
export function recordBceDiceLoss(
  gpu: Gpu,
  rec: Recorder,
  z: GpuTensor,
  t: GpuTensor,
  o: LossOptions,
): GpuTensor {
  if (z.shape.join() !== t.shape.join() || z.shape.length < 2) {
    throw new Error(`loss needs logits and targets of one (B, L, ...) shape, got ${z} and ${t}`);
  }
  if (z.byteLength > gpu.maxBinding) throw new Error(`loss: ${z} is over the binding limit`);
  if (o.index < 0 || o.index >= o.out.size) {
    throw new Error(`loss: slot ${o.index} is outside ${o.out}`);
  }
  const [batch, channels] = z.shape;
  if (o.masked && channels !== 1) {
    throw new Error(`loss: a masked loss needs one channel, got ${z}`);
  }
  const plane = z.size / (batch * channels);
  const chunks = Math.ceil(plane / CHUNK);
  const part = emptyTensor(gpu, [batch * channels * chunks * 5], "f32", "loss partials");
  const tot = emptyTensor(gpu, [channels * 5], "f32", "loss totals");
  const g = emptyTensor(gpu, z.shape, "f32");
  const uniforms = [
    batch,
    channels,
    plane,
    chunks,
    CHUNK,
    o.index,
    f32bits(o.bceWeight ?? 0.5),
    f32bits(o.diceWeight ?? 0.5),
    o.masked ? 1 : 0,
  ];
  const bindings = [z, t, part, tot, g, o.out];
  for (const entry of ["partials", "totals", "grad"] as const) {
    rec.dispatch({
      kernel: gpu.kernels.get({ name: `loss/${entry}`, source, entryPoint: entry }),
      uniforms,
      bindings,
      invocations: entry === "partials"
        ? batch * channels * chunks
        : entry === "totals"
        ? channels
        : z.size,
    });
  }
  part.release();
  tot.release();
  return g;
}

/**
 * Records a one-hot encoding of a class map: `y` (B, 1, ...) holding class
 * indices 0..L-1 as floats -> (B, L, ...) of 0/1 (the seed's multiclass
 * labels: 0 outside the fragment, 1 papyrus, 2 ink).
 */
export function recordOneHot(gpu: Gpu, rec: Recorder, y: GpuTensor, classes: number): GpuTensor {
  const [batch] = y.shape;
  const plane = y.size / batch;
  const out = emptyTensor(gpu, [batch, classes, ...y.shape.slice(2)], "f32");
  if (out.byteLength > gpu.maxBinding) throw new Error(`one-hot: ${out} is over the binding limit`);
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "loss/one_hot", source: oneHotSource }),
    uniforms: [batch, classes, plane],
    bindings: [y, out],
    invocations: out.size,
  });
  return out;
}
