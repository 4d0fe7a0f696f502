/**
 * `batch_norm` kernel launchers: eval-mode BatchNorm2d (running statistics)
 * on channels-first tensors, optional fused ReLU, windowed over planes; and
 * for training, the batch-statistics forward ({@linkcode recordBatchNormTrain})
 * and its backward ({@linkcode recordBatchNormBackward}).
 *
 * @module
 */

import source from "./batch_norm.wgsl" with { type: "text" };
import statsSource from "./batch_norm_train_stats.wgsl" with { type: "text" };
import finalizeSource from "./batch_norm_train_finalize.wgsl" with { type: "text" };
import trainSource from "./batch_norm_train.wgsl" with { type: "text" };
import sumsSource from "./batch_norm_backward_sums.wgsl" with { type: "text" };
import reduceSource from "./batch_norm_backward_reduce.wgsl" with { type: "text" };
import backwardSource from "./batch_norm_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** BatchNorm2d parameters and running statistics, (C) each, as in a PyTorch state dict. */
export interface BatchNormParams {
  weight: GpuTensor;
  bias: GpuTensor;
  runningMean: GpuTensor;
  runningVar: GpuTensor;
}

/** Options of {@linkcode recordBatchNorm}. */
export interface BatchNormOptions {
  /** Default 1e-5. */
  eps?: number;
  /** Apply ReLU after the normalisation. */
  relu?: boolean;
}

/** Records BatchNorm of x (N, C, ...) into a new tensor. */
export function recordBatchNorm(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  bn: BatchNormParams,
  opts: BatchNormOptions = {},
): GpuTensor {
  const [n, c] = x.shape;
  const params = [bn.weight, bn.bias, bn.runningMean, bn.runningVar];
  if (params.some((t) => t.size !== c)) {
    throw new Error(`batch_norm: parameters must have ${c} elements, got ${params.join(", ")}`);
  }
  const plane = x.size / (n * c);
  const y = emptyTensor(gpu, x.shape, "f32");
  const kernel = gpu.kernels.get({ name: "batch_norm", source });
  const perWindow = Math.floor((gpu.maxBinding - 256) / (plane * 4));
  if (perWindow < 1) throw new Error(`batch_norm: one plane of ${x} exceeds the binding limit`);
  for (let p0 = 0; p0 < n * c; p0 += perWindow) {
    const planes = Math.min(perWindow, n * c - p0);
    const xw = bindWindow(x, p0 * plane, planes * plane);
    const yw = bindWindow(y, p0 * plane, planes * plane);
    rec.dispatch({
      kernel,
      uniforms: [
        planes,
        plane,
        c,
        p0,
        xw.base,
        yw.base,
        f32bits(opts.eps ?? 1e-5),
        opts.relu ? 1 : 0,
      ],
      bindings: [xw.binding, ...params, yw.binding],
      invocations: planes * Math.ceil(plane / 16),
    });
  }
  return y;
}

/** Options of {@linkcode recordBatchNormTrain}. */
export interface BatchNormTrainOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /**
   * Weight of the batch statistics in the running-statistics update (default
   * 0.1, PyTorch's): `running = (1 - momentum) * running + momentum * batch`.
   * PyTorch's cumulative moving average (`momentum=None`, as
   * `torch.optim.swa_utils.update_bn` uses after resetting the running stats
   * to mean 0, var 1) is `momentum = 1 / (k + 1)` for the k-th batch, k = 0, 1, ...
   */
  momentum?: number;
  /** Apply ReLU after the normalisation. */
  relu?: boolean;
  /** Update the running statistics in place (default true). */
  updateStats?: boolean;
}

/** Elements per first-level chunk of the per-channel reductions. */
const CHUNK = 512;

const scratchBuffers = [new WeakMap<GPUDevice, GPUBuffer>(), new WeakMap<GPUDevice, GPUBuffer>()];

/**
 * Scratch buffer `which` of this module, at least `bytes` long. Module-owned
 * rather than pooled: a pooled scratch released while recording could be
 * re-acquired and overwritten by `writeTensor` before the recorder is
 * submitted. Dispatches run in order, so every batch norm of a submit can
 * share them.
 */
function scratch(gpu: Gpu, which: number, bytes: number): GPUBuffer {
  const map = scratchBuffers[which];
  const have = map.get(gpu.device);
  if (have && have.size >= bytes) return have;
  // The old buffer may still be referenced by unsubmitted dispatches: drop it, never destroy it.
  const size = Math.max(bytes, 2 * (have?.size ?? 0), 4096);
  const buffer = gpu.device.createBuffer({
    size: Math.ceil(size / 256) * 256,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    label: `batch_norm scratch ${which}`,
  });
  map.set(gpu.device, buffer);
  return buffer;
}

/** Checks an (N, C, ...) f32 tensor and returns (N, C, plane). */
function dims(op: string, x: GpuTensor, gpu: Gpu): [number, number, number] {
  if (x.shape.length < 2 || x.dtype !== "f32") {
    throw new Error(`${op} needs an f32 (N, C, ...) input, got ${x}`);
  }
  if (x.byteLength > gpu.maxBinding) {
    throw new Error(
      `${op}: ${x} (${x.byteLength} bytes) exceeds the storage binding limit (${gpu.maxBinding})`,
    );
  }
  const [n, c] = x.shape;
  return [n, c, x.size / (n * c)];
}

/** Throws unless every tensor has `c` elements. */
function checkChannels(op: string, c: number, named: Record<string, GpuTensor>): void {
  for (const [name, t] of Object.entries(named)) {
    if (t.size !== c) throw new Error(`${op}: ${name} ${t} needs ${c} elements`);
  }
}

/**
 * Records training-mode BatchNorm of x (N, C, ...): normalises with the batch
 * mean and biased variance, applies weight and bias (and ReLU when `relu`),
 * and, unless `updateStats` is false, updates `runningMean` and `runningVar`
 * in place like PyTorch (the running variance takes the unbiased variance).
 * Returns the output and the batch `mean` and `invstd` = 1 / sqrt(var + eps),
 * (C) each, which {@linkcode recordBatchNormBackward} needs.
 */
export function recordBatchNormTrain(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  p: BatchNormParams,
  o: BatchNormTrainOptions = {},
): { y: GpuTensor; mean: GpuTensor; invstd: GpuTensor } {
  const op = "batch_norm train";
  const [n, c, plane] = dims(op, x, gpu);
  checkChannels(op, c, {
    weight: p.weight,
    bias: p.bias,
    runningMean: p.runningMean,
    runningVar: p.runningVar,
  });
  if (n * plane < 2) {
    throw new Error(`${op}: expected more than 1 value per channel when training, got ${x}`);
  }
  const chunks = Math.ceil(plane / CHUNK);
  const len = n * chunks;
  const partialBytes = c * len * 16;
  if (partialBytes > gpu.maxBinding) {
    throw new Error(`${op}: the partial sums of ${x} exceed the storage binding limit`);
  }
  const partials = scratch(gpu, 0, partialBytes);
  const partialsBinding = { buffer: partials, offset: 0, size: partialBytes };
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_train_stats", source: statsSource }),
    uniforms: [plane, chunks, CHUNK, n, c],
    bindings: [x, partialsBinding],
    invocations: c * len,
  });
  const mean = emptyTensor(gpu, [c], "f32");
  const invstd = emptyTensor(gpu, [c], "f32");
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_train_finalize", source: finalizeSource }),
    uniforms: [
      len,
      c,
      f32bits(o.eps ?? 1e-5),
      f32bits(o.momentum ?? 0.1),
      o.updateStats === false ? 0 : 1,
    ],
    bindings: [partialsBinding, mean, invstd, p.runningMean, p.runningVar],
    invocations: c,
  });
  const y = emptyTensor(gpu, x.shape, "f32");
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_train", source: trainSource }),
    uniforms: [n * c, plane, c, o.relu ? 1 : 0],
    bindings: [x, p.weight, p.bias, mean, invstd, y],
    invocations: n * c * Math.ceil(plane / 16),
  });
  return { y, mean, invstd };
}

/**
 * Records the backward of training-mode BatchNorm: given the forward input
 * `x`, the upstream gradient `dy`, the weight and the batch `mean` and
 * `invstd` that {@linkcode recordBatchNormTrain} returned, returns
 * dx = weight * invstd / M * (M * dy - sum(dy) - xhat * sum(dy * xhat)),
 * dweight = sum(dy * xhat) and dbias = sum(dy) (sums per channel over
 * M = N * H * W). With `relu` (fused in the forward) dy is first masked by
 * y > 0, `p.y` being the forward output.
 */
export function recordBatchNormBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  p: { weight: GpuTensor; mean: GpuTensor; invstd: GpuTensor; y?: GpuTensor },
  o: { relu?: boolean } = {},
): { dx: GpuTensor; dweight: GpuTensor; dbias: GpuTensor } {
  const op = "batch_norm backward";
  const [n, c, plane] = dims(op, x, gpu);
  checkChannels(op, c, { weight: p.weight, mean: p.mean, invstd: p.invstd });
  for (const [name, t] of [["dy", dy], ["y", p.y]] as const) {
    if (t && (t.dtype !== "f32" || t.shape.join() !== x.shape.join())) {
      throw new Error(`${op}: ${name} ${t} does not match x ${x}`);
    }
  }
  if (o.relu && !p.y) throw new Error(`${op}: a fused ReLU needs the forward output p.y`);
  const relu = o.relu ? 1 : 0;
  const y = o.relu ? p.y! : dy;
  const chunks = Math.ceil(plane / CHUNK);
  const len = n * chunks;
  const partialBytes = c * len * 8;
  if (partialBytes > gpu.maxBinding) {
    throw new Error(`${op}: the partial sums of ${x} exceed the storage binding limit`);
  }
  const partials = { buffer: scratch(gpu, 0, partialBytes), offset: 0, size: partialBytes };
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_backward_sums", source: sumsSource }),
    uniforms: [plane, chunks, CHUNK, n, c, relu],
    bindings: [x, dy, y, p.mean, partials],
    invocations: c * len,
  });
  const dweight = emptyTensor(gpu, [c], "f32");
  const dbias = emptyTensor(gpu, [c], "f32");
  const coef = { buffer: scratch(gpu, 1, c * 16), offset: 0, size: c * 16 };
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_backward_reduce", source: reduceSource }),
    uniforms: [len, c, f32bits(n * plane)],
    bindings: [partials, p.weight, p.mean, p.invstd, dweight, dbias, coef],
    invocations: c,
  });
  const dx = emptyTensor(gpu, x.shape, "f32");
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "batch_norm_backward", source: backwardSource }),
    uniforms: [n * c, plane, c, relu],
    bindings: [x, dy, y, coef, dx],
    invocations: n * c * Math.ceil(plane / 16),
  });
  return { dx, dweight, dbias };
}
