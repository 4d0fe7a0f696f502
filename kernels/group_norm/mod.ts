/**
 * `group_norm` launcher: PyTorch `GroupNorm` over (N, C, *spatial) with G
 * groups (biased variance, eps 1e-5 by default, optional per-channel affine)
 * and an optional fused activation. With G = C and no affine it is
 * `InstanceNorm3d` (affine false, no running stats).
 *
 * Three passes, all recorded on the caller's recorder:
 * 1. `group_norm_stats`: every 1024-element chunk of every channel plane is
 *    reduced to (count, mean, M2), shifted by its first element;
 * 2. `group_norm_combine`: a tree of levels merges up to 64 partials at a
 *    time with Chan's formula until one (count, mean, M2) per group remains;
 * 3. `group_norm`: y = act((x - mean) / sqrt(M2 / count + eps) * gamma + beta).
 *
 * The partials live in two scratch buffers owned by this module (one level
 * reads one while writing the other: a dispatch cannot bind one buffer both
 * read-only and read-write), one pair per device, grown on demand and never
 * handed back to the pool: a pooled scratch released while recording could
 * be re-acquired and written by `writeTensor` before this recorder is
 * submitted. Dispatches run in order, so every group norm of a submit can
 * share them.
 *
 * Channel planes are the unit of windowing: each dispatch covers as many
 * whole planes as one binding holds.
 *
 * {@linkcode recordGroupNormBackward} is the training backward: it recomputes
 * the group statistics with passes 1 and 2, then reduces per-chunk sums of
 * the gradient (scratch 2 and 3) and writes dx, dgamma and dbeta. It needs
 * the whole input in one binding.
 *
 * @module
 */

import statsSource from "./group_norm_stats.wgsl" with { type: "text" };
import combineSource from "./group_norm_combine.wgsl" with { type: "text" };
import applySource from "./group_norm.wgsl" with { type: "text" };
import sumsSource from "./group_norm_backward_sums.wgsl" with { type: "text" };
import planesSource from "./group_norm_backward_planes.wgsl" with { type: "text" };
import paramsSource from "./group_norm_backward_params.wgsl" with { type: "text" };
import groupsSource from "./group_norm_backward_groups.wgsl" with { type: "text" };
import backwardSource from "./group_norm_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type BufferBinding, f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";
import type { Activation } from "../elementwise/mod.ts";
import { checkPlane, planesPerWindow } from "../conv3d/mod.ts";

/** Options of {@linkcode recordGroupNorm}. */
export interface GroupNormOptions {
  /** Number of groups G (C must be a multiple). */
  groups: number;
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Per-channel scale and shift (both or neither). */
  gamma?: GpuTensor;
  beta?: GpuTensor;
  /** Activation applied to the output (default "none"). */
  activation?: Activation;
  /** Negative slope of leaky_relu (default 0.01). */
  slope?: number;
}

/** Elements per first-level chunk. */
const CHUNK = 1024;
/** Partials merged per invocation and level. */
const FAN = 64;
/** Units per invocation of the normalisation pass. */
const RUN = 8;

/** Scratch 0 and 1: the statistics' levels; 2 and 3: the backward's sums. */
const scratchBuffers = [0, 1, 2, 3].map(() => new WeakMap<GPUDevice, GPUBuffer>());

/** Scratch buffer `which` (0 to 3) of the module, at least `bytes` long. */
function scratch(gpu: Gpu, which: number, bytes: number): GPUBuffer {
  const map = scratchBuffers[which];
  const have = map.get(gpu.device);
  if (have && have.size >= bytes) return have;
  // The old buffer may still be referenced by unsubmitted dispatches: drop it, never destroy it.
  const size = Math.max(bytes, 2 * (have?.size ?? 0), 4096);
  const buffer = gpu.device.createBuffer({
    size: Math.ceil(size / 256) * 256,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    label: `group_norm scratch ${which}`,
  });
  map.set(gpu.device, buffer);
  return buffer;
}

/** A storage window over vec4 `[start, start + count)` of a raw buffer. */
function vec4Window(
  buffer: GPUBuffer,
  start: number,
  count: number,
): { binding: BufferBinding; base: number } {
  const offset = Math.floor((start * 16) / 256) * 256;
  return {
    binding: { buffer, offset, size: (start + count) * 16 - offset },
    base: start - offset / 16,
  };
}

/**
 * Records passes 1 and 2 of the group norm of `x` (N, C, *spatial) with `g`
 * groups (already validated): returns the module scratch buffer that holds,
 * once the recorded dispatches have run, one vec4 (bitcast count, mean, M2, 0)
 * per group n * G + g from offset 0. Valid until the next group norm is
 * recorded.
 */
function recordGroupStats(gpu: Gpu, rec: Recorder, x: GpuTensor, g: number): GPUBuffer {
  const [n, c] = x.shape;
  const plane = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const perGroup = c / g;
  const limit = gpu.maxBinding;
  checkPlane("group_norm", x, plane, limit);
  const planesPer = planesPerWindow(plane, limit);
  const planes = n * c;
  const groups = n * g;

  // Scratch 0 holds the first-level partials, 1 the next level, then 0 again...
  const chunks = Math.ceil(plane / CHUNK);
  const bufs = [
    scratch(gpu, 0, planes * chunks * 16),
    scratch(gpu, 1, groups * Math.max(1, Math.ceil((perGroup * chunks) / FAN)) * 16),
  ];

  // 1. Chunk statistics, whole planes per dispatch.
  const stats = gpu.kernels.get({ name: "group_norm_stats", source: statsSource });
  const partialPlanes = Math.max(1, Math.floor((limit - 256) / (chunks * 16)));
  const statPlanes = Math.min(planesPer, partialPlanes);
  for (let p0 = 0; p0 < planes; p0 += statPlanes) {
    const np = Math.min(statPlanes, planes - p0);
    const input = bindWindow(x, p0 * plane, np * plane);
    const out = vec4Window(bufs[0], p0 * chunks, np * chunks);
    rec.dispatch({
      kernel: stats,
      uniforms: [plane, chunks, CHUNK, np, input.base, out.base],
      bindings: [input.binding, out.binding],
      invocations: np * chunks,
    });
  }

  // 2. Merge levels until one partial per group.
  const combine = gpu.kernels.get({
    name: "group_norm_combine",
    source: combineSource,
    defines: { FAN },
  });
  let len = perGroup * chunks;
  let level = 0;
  while (len > 1) {
    const outs = Math.ceil(len / FAN);
    const src = bufs[level % 2];
    const dst = bufs[(level + 1) % 2];
    const per = Math.max(1, Math.floor((limit - 256) / (len * 16)));
    if (len * 16 + 256 > limit) {
      throw new Error(`group_norm: the partial sums of one group of ${x} exceed the binding limit`);
    }
    for (let g0 = 0; g0 < groups; g0 += per) {
      const ng = Math.min(per, groups - g0);
      const input = vec4Window(src, g0 * len, ng * len);
      const output = vec4Window(dst, g0 * outs, ng * outs);
      rec.dispatch({
        kernel: combine,
        uniforms: [len, outs, ng, input.base, output.base],
        bindings: [input.binding, output.binding],
        invocations: ng * outs,
      });
    }
    len = outs;
    level++;
  }
  return bufs[level % 2];
}

/**
 * Records the group normalisation of `x` (N, C, *spatial) into a new tensor
 * of the same shape.
 */
export function recordGroupNorm(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  opts: GroupNormOptions,
): GpuTensor {
  if (x.shape.length < 2 || x.dtype !== "f32") {
    throw new Error(`group_norm needs an f32 (N, C, ...) input, got ${x}`);
  }
  const [n, c] = x.shape;
  const plane = x.shape.slice(2).reduce((a, b) => a * b, 1);
  const g = opts.groups;
  if (!Number.isInteger(g) || g < 1 || c % g !== 0) {
    throw new Error(`group_norm: ${c} channels of ${x} do not split into ${g} groups`);
  }
  const { gamma, beta } = opts;
  if ((gamma === undefined) !== (beta === undefined)) {
    throw new Error("group_norm: pass both gamma and beta or neither");
  }
  if (gamma && beta && (gamma.size !== c || beta.size !== c)) {
    throw new Error(`group_norm: gamma ${gamma} and beta ${beta} need ${c} values each`);
  }
  const perGroup = c / g;
  const limit = gpu.maxBinding;
  checkPlane("group_norm", x, plane, limit);
  const planesPer = planesPerWindow(plane, limit);
  const y = emptyTensor(gpu, x.shape, "f32");
  const planes = n * c;
  const final = recordGroupStats(gpu, rec, x, g);

  // 3. Normalise, whole planes per dispatch.
  const activation = opts.activation ?? "none";
  const unit = plane % 4 === 0 ? "vec4f" : "f32";
  const width = unit === "vec4f" ? 4 : 1;
  const apply = gpu.kernels.get({
    name: "group_norm",
    source: applySource,
    defines: { UNIT: unit, RUN, ACT: activation },
  });
  const runs = Math.ceil(plane / (width * RUN));
  for (let p0 = 0; p0 < planes; p0 += planesPer) {
    const np = Math.min(planesPer, planes - p0);
    const input = bindWindow(x, p0 * plane, np * plane);
    const output = bindWindow(y, p0 * plane, np * plane);
    const g0 = Math.floor(p0 / perGroup);
    const g1 = Math.floor((p0 + np - 1) / perGroup) + 1;
    const st = vec4Window(final, g0, g1 - g0);
    const affine = gamma && beta ? [gamma, beta] : [input.binding, input.binding];
    rec.dispatch({
      kernel: apply,
      uniforms: [
        plane,
        runs,
        np,
        c,
        perGroup,
        p0,
        input.base,
        output.base,
        g0,
        st.base,
        gamma ? 1 : 0,
        f32bits(opts.eps ?? 1e-5),
        f32bits(opts.slope ?? 0.01),
      ],
      bindings: [input.binding, st.binding, ...affine, output.binding],
      invocations: np * runs,
    });
  }
  return y;
}

/** Elements per chunk of the backward's first-level sums. */
const BACKWARD_CHUNK = 512;
/** Elements per invocation of the backward's input-gradient pass. */
const BACKWARD_RUN = 16;

/**
 * Records the backward of {@linkcode recordGroupNorm} with the same options:
 * given the forward input `x` (N, C, *spatial) and the upstream gradient `dy`
 * of the output, returns dx and, with an affine (gamma and beta), dgamma and
 * dbeta. With a fused activation the pre-activation is recomputed from `x`
 * (its statistics, gamma and beta) to mask dy: relu passes where it is > 0,
 * leaky_relu scales the rest by `slope` (PyTorch's derivatives). Every tensor
 * must fit in one storage binding.
 */
export function recordGroupNormBackward(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  dy: GpuTensor,
  o: GroupNormOptions,
): { dx: GpuTensor; dgamma?: GpuTensor; dbeta?: GpuTensor } {
  const op = "group_norm backward";
  if (x.shape.length < 2 || x.dtype !== "f32") {
    throw new Error(`${op} needs an f32 (N, C, ...) input, got ${x}`);
  }
  if (dy.dtype !== "f32" || dy.shape.join() !== x.shape.join()) {
    throw new Error(`${op}: dy ${dy} does not match x ${x}`);
  }
  const [n, c] = x.shape;
  const plane = x.size / (n * c);
  const g = o.groups;
  if (!Number.isInteger(g) || g < 1 || c % g !== 0) {
    throw new Error(`${op}: ${c} channels of ${x} do not split into ${g} groups`);
  }
  const { gamma, beta } = o;
  if ((gamma === undefined) !== (beta === undefined)) {
    throw new Error(`${op}: pass both gamma and beta or neither`);
  }
  if (gamma && beta && (gamma.size !== c || beta.size !== c)) {
    throw new Error(`${op}: gamma ${gamma} and beta ${beta} need ${c} values each`);
  }
  const limit = gpu.maxBinding;
  if (x.byteLength > limit) {
    throw new Error(
      `${op}: ${x} (${x.byteLength} bytes) exceeds the storage binding limit (${limit})`,
    );
  }
  const perGroup = c / g;
  const planes = n * c;
  const groups = n * g;
  const chunks = Math.ceil(plane / BACKWARD_CHUNK);
  const partialBytes = planes * chunks * 8;
  if (partialBytes > limit) {
    throw new Error(`${op}: the partial sums of ${x} exceed the storage binding limit`);
  }
  const activation = o.activation ?? "none";
  const eps = f32bits(o.eps ?? 1e-5);
  const slope = f32bits(o.slope ?? 0.01);
  const affine = gamma && beta ? 1 : 0;
  // Unused gamma and beta bindings (no affine) read x.
  const params = gamma && beta ? [gamma, beta] : [x, x];

  const stats = recordGroupStats(gpu, rec, x, g);
  const statsBinding = { buffer: stats, offset: 0, size: groups * 16 };
  const s2 = scratch(gpu, 2, Math.max(partialBytes, groups * 16));
  const partials = { buffer: s2, offset: 0, size: partialBytes };
  const totals = { buffer: scratch(gpu, 3, planes * 8), offset: 0, size: planes * 8 };
  const coef = { buffer: s2, offset: 0, size: groups * 16 };

  rec.dispatch({
    kernel: gpu.kernels.get({
      name: "group_norm_backward_sums",
      source: sumsSource,
      defines: { ACT: activation },
    }),
    uniforms: [plane, chunks, BACKWARD_CHUNK, planes, c, perGroup, affine, eps, slope],
    bindings: [x, dy, statsBinding, ...params, partials],
    invocations: planes * chunks,
  });
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "group_norm_backward_planes", source: planesSource }),
    uniforms: [chunks, planes],
    bindings: [partials, totals],
    invocations: planes,
  });
  let dgamma: GpuTensor | undefined;
  let dbeta: GpuTensor | undefined;
  if (affine) {
    dgamma = emptyTensor(gpu, [c], "f32");
    dbeta = emptyTensor(gpu, [c], "f32");
    rec.dispatch({
      kernel: gpu.kernels.get({ name: "group_norm_backward_params", source: paramsSource }),
      uniforms: [n, c],
      bindings: [totals, dgamma, dbeta],
      invocations: c,
    });
  }
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "group_norm_backward_groups", source: groupsSource }),
    uniforms: [groups, perGroup, c, affine, eps, f32bits(perGroup * plane)],
    bindings: [totals, statsBinding, params[0], coef],
    invocations: groups,
  });
  const dx = emptyTensor(gpu, x.shape, "f32");
  const runs = Math.ceil(plane / BACKWARD_RUN);
  rec.dispatch({
    kernel: gpu.kernels.get({
      name: "group_norm_backward",
      source: backwardSource,
      defines: { ACT: activation, RUN: BACKWARD_RUN },
    }),
    uniforms: [plane, runs, planes, c, perGroup, affine, slope],
    bindings: [x, dy, coef, ...params, dx],
    invocations: planes * runs,
  });
  return affine ? { dx, dgamma, dbeta } : { dx };
}
