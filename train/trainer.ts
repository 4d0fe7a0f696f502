/**
 * The seed's training recipe (seed-spec 3) on the GPU: per step, a batch of
 * tiles is cropped on the host, uploaded, augmented on the GPU, run forward
 * on a {@linkcode Tape}, scored by 0.5 BCE + 0.5 Dice, run backward, and
 * updated by AdamW after global gradient-norm clipping, all in one
 * submission with no readback (losses collect in a GPU buffer read once per
 * epoch). Per epoch: the seed's warmup + cosine learning rate, SWA
 * averaging from `swaStart`, validation with the seed's geometric-mean
 * blending and F0.5 scan, and checkpoints `best`, `final`, then `final_swa`
 * after a BatchNorm statistics pass.
 *
 * Deterministic: the tile order of an epoch and the augmentations of a step
 * come from generators seeded by (seed, epoch[, step]), so a run resumed
 * from its saved state (weights, optimiser moments, SWA average, position)
 * ends with the same weights as an uninterrupted one.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import {
  downloadTensor,
  downloadTensors,
  emptyTensor,
  type GpuTensor,
  uploadTensor,
  writeTensor,
} from "../kernels/tensor.ts";
import { recordBceDiceLoss, recordOneHot } from "../kernels/loss/mod.ts";
import { AdamW, recordSwaUpdate } from "../kernels/optim/mod.ts";
import { type CheckpointTensor, type StateDict, tensorFrom } from "../data/checkpoint/tensor.ts";
import type { MemberConfig } from "../networks/families.ts";
import { gpuOps, PreparedWeights } from "../networks/gpu_ops.ts";
import { bestThreshold, ConfusionCounter, seedFbeta } from "../postprocess/metrics.ts";
import { type AugmentConfig, recordAugment, sampleAugment } from "./augment.ts";
import { fillBatch, type Region, tileGrid, type TileRef } from "./data.ts";
import { TrainModel } from "./model.ts";
import { Rng } from "./rng.ts";
import { seedLr } from "./schedule.ts";
import { Tape } from "./tape.ts";

/** Everything that defines a training run. */
export interface TrainOptions {
  config: MemberConfig;
  tile: number;
  /** Tile origins' spacing (the seed: tile / 4). */
  stride: number;
  /** Validation tiles' spacing (the seed: tile / 4; its geometric mean blends the overlaps). */
  validStride: number;
  batch: number;
  epochs: number;
  /** Peak learning rate (the seed: 1e-4 after its warmup x10). */
  lr: number;
  warmupFactor: number;
  minLr: number;
  weightDecay: number;
  /** Global gradient-norm clip (the seed: 100). */
  maxGradNorm: number;
  /** First epoch whose weights SWA averages (the seed: 3); past the last epoch for none. */
  swaStart: number;
  seed: number;
  augment: AugmentConfig;
  /** Each epoch: every tile of the rarer kind (ink / no ink) and as many of the other. */
  balance: boolean;
  /** Train only on tiles at least this fraction papyrus (0: the seed's rule alone). */
  minMaskCoverage: number;
  /** Count only papyrus-mask pixels in the loss (a recipe change; the seed counts all). */
  lossMask?: boolean;
  /**
   * The network's training-only dropouts (SegFormer's drop-path and the decode
   * head's dropout, at the config's rates), as the seed trains; off when absent.
   */
  dropout?: boolean;
  /**
   * "mixed": linear layers in float16 (needs `shader-f16`) with a dynamic loss
   * scale, as torch.amp's autocast + GradScaler; "f32" (default): float32
   * throughout.
   */
  precision?: "f32" | "mixed";
  /** At most this many steps per epoch (0: all). */
  stepsPerEpoch: number;
  /** Save the resumable state every this many steps (0: at epoch ends only). */
  checkpointEvery: number;
}

/** One epoch's line of the training log. */
export interface EpochRecord {
  epoch: number;
  lr: number;
  steps: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Seconds of this epoch (training and validation). */
  seconds: number;
  /** Validation F0.5 at the best threshold of the seed's scan, with it. */
  f05?: number;
  threshold?: number;
  precision?: number;
  recall?: number;
}

/** What a resumed run needs besides tensors. */
export interface ResumeState {
  epoch: number;
  /** Next step within the epoch. */
  step: number;
  adamSteps: number;
  swaCount: number;
  batchesTracked: number;
  bestF05: number;
  history: EpochRecord[];
  /** Losses of the steps of the current epoch so far. */
  losses: number[];
  /** Seconds spent in the current epoch before the state was saved. */
  seconds: number;
}

/** Where the trainer's results go. */
export interface TrainSink {
  /** A checkpoint with the seed's keys: `best`, `final` (each epoch) and `final_swa`. */
  checkpoint(kind: "best" | "final" | "final_swa", dict: StateDict): Promise<void>;
  /** The resumable state (called every `checkpointEvery` steps and at each epoch end). */
  saveState(state: ResumeState, tensors: Map<string, CheckpointTensor>): Promise<void>;
  /** An epoch finished (its record is also in every later state's history). */
  epoch(record: EpochRecord, history: readonly EpochRecord[]): Promise<void>;
  /** Steps done and total, for progress bars. */
  progress(done: number, total: number): void;
}

/** A state saved by an earlier run of the same configuration. */
export interface Resume {
  state: ResumeState;
  tensors: Map<string, CheckpointTensor>;
}

/** The outcome of a run. */
export interface TrainResult {
  history: EpochRecord[];
  bestF05: number;
  /** Validation of the SWA model, when validation data and SWA epochs exist. */
  swa?: EpochRecord;
}

/** A 32-bit seed mixed from integers (splitmix-style), for per-epoch and per-step generators. */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

/** The tiles of one epoch, in the order they are used. */
export function epochOrder(
  tiles: readonly TileRef[],
  seed: number,
  epoch: number,
  balance: boolean,
): TileRef[] {
  const rng = new Rng(mixSeed(seed, epoch, 0x0eb0c));
  if (!balance) return rng.shuffle([...tiles]);
  const ink = tiles.filter((t) => t.ink), rest = tiles.filter((t) => !t.ink);
  const [few, many] = ink.length <= rest.length ? [ink, rest] : [rest, ink];
  if (few.length === 0) return rng.shuffle([...tiles]);
  return rng.shuffle([...few, ...rng.shuffle([...many]).slice(0, few.length)]);
}

/** Steps in an epoch. */
export function stepsIn(tiles: number, o: TrainOptions): number {
  const steps = Math.floor(tiles / o.batch);
  return o.stepsPerEpoch > 0 ? Math.min(steps, o.stepsPerEpoch) : steps;
}

function labelChannels(o: TrainOptions): number {
  return o.config.segformer.num_labels;
}

/**
 * Trains a member. `init` gives the starting weights (a checkpoint or
 * `initialWeights`); `resume` a saved state of the same configuration.
 */
export async function train(
  gpu: Gpu,
  trainRegion: Region,
  validRegion: Region | undefined,
  init: StateDict,
  o: TrainOptions,
  sink: TrainSink,
  resume?: Resume,
): Promise<TrainResult> {
  const mixed = o.precision === "mixed";
  if (mixed && !gpu.device.features.has("shader-f16")) {
    throw new Error(
      `precision "mixed" needs the adapter's shader-f16 feature, which ${gpu.adapter.description} lacks`,
    );
  }
  const model = await TrainModel.create(gpu, o.config, init);
  const opt = new AdamW(gpu, model.params, {
    weightDecay: o.weightDecay,
    maxGradNorm: o.maxGradNorm,
    lossScale: mixed ? {} : undefined,
  });
  const swa = model.params.map((p) => emptyTensor(gpu, p.shape, "f32", "swa"));
  const tiles = tileGrid(trainRegion, o.tile, o.stride, o.minMaskCoverage);
  if (tiles.length < o.batch) {
    throw new Error(
      `training rows [${trainRegion.y0}, ${trainRegion.y1}) hold ${tiles.length} tiles of ${o.tile}, fewer than a batch of ${o.batch}`,
    );
  }
  const validTiles = validRegion ? tileGrid(validRegion, o.tile, o.validStride) : [];
  const classes = labelChannels(o);
  const steps = stepsIn(epochOrder(tiles, o.seed, 0, o.balance).length, o);
  const state: ResumeState = resume?.state ?? {
    epoch: 0,
    step: 0,
    adamSteps: 0,
    swaCount: 0,
    batchesTracked: model.batchesTracked,
    bestF05: -1,
    history: [],
    losses: [],
    seconds: 0,
  };
  if (resume) await restore(model, opt, swa, resume);
  const losses = emptyTensor(gpu, [Math.max(1, steps)], "f32", "losses");
  try {
    for (; state.epoch < o.epochs; state.epoch++, state.step = 0, state.losses = []) {
      const epoch = state.epoch;
      const started = performance.now() - state.seconds * 1000;
      const order = epochOrder(tiles, o.seed, epoch, o.balance);
      const n = Math.min(steps, Math.floor(order.length / o.batch));
      const lr = seedLr(epoch, {
        peak: o.lr,
        epochs: o.epochs,
        warmupFactor: o.warmupFactor,
        minLr: o.minLr,
      });
      let pending = 0; // steps whose losses are still on the GPU
      const flushLosses = async () => {
        if (pending === 0) return;
        const all = await downloadTensor(losses) as Float32Array;
        state.losses.push(...all.subarray(state.losses.length, state.losses.length + pending));
        pending = 0;
      };
      for (; state.step < n; state.step++) {
        const refs = order.slice(state.step * o.batch, (state.step + 1) * o.batch);
        trainStep(gpu, model, opt, trainRegion, refs, o, classes, lr, epoch, state, losses);
        state.batchesTracked++;
        model.batchesTracked = state.batchesTracked;
        pending++;
        sink.progress(epoch * n + state.step + 1, o.epochs * n);
        if (o.checkpointEvery > 0 && (state.step + 1) % o.checkpointEvery === 0) {
          await flushLosses();
          state.step++;
          state.seconds = (performance.now() - started) / 1000;
          state.adamSteps = opt.t;
          await sink.saveState(state, await snapshot(gpu, model, opt, swa));
          state.step--;
        }
        // Keep the GPU queue from running far ahead of the host.
        if (state.step % 8 === 7) await gpu.device.queue.onSubmittedWorkDone();
      }
      await flushLosses();
      state.adamSteps = opt.t;
      if (epoch >= o.swaStart) {
        const rec = gpu.kernels.recorder("swa");
        model.params.forEach((p, i) => recordSwaUpdate(gpu, rec, swa[i], p, state.swaCount));
        rec.submit();
        state.swaCount++;
      }
      const record: EpochRecord = {
        epoch,
        lr,
        steps: n,
        loss: state.losses.reduce((a, b) => a + b, 0) / Math.max(1, state.losses.length),
        seconds: 0,
      };
      if (validRegion && validTiles.length) {
        Object.assign(record, await validate(gpu, model, validRegion, validTiles, o, classes));
      }
      record.seconds = (performance.now() - started) / 1000;
      state.history.push(record);
      await sink.epoch(record, state.history);
      const final = await model.stateDict();
      await sink.checkpoint("final", final);
      if ((record.f05 ?? -1) > state.bestF05) {
        state.bestF05 = record.f05!;
        await sink.checkpoint("best", final);
      }
      state.seconds = 0;
      const next = { ...state, epoch: epoch + 1, step: 0, losses: [] };
      await sink.saveState(next, await snapshot(gpu, model, opt, swa));
    }
    const result: TrainResult = { history: state.history, bestF05: state.bestF05 };
    if (state.swaCount > 0) {
      const rec = gpu.kernels.recorder("swa apply");
      model.params.forEach((p, i) => rec.copy(swa[i].buffer, 0, p.buffer, 0, p.byteLength));
      rec.submit();
      updateBatchNorm(gpu, model, trainRegion, tiles, o);
      await sink.checkpoint("final_swa", await model.stateDict());
      if (validRegion && validTiles.length) {
        const started = performance.now();
        result.swa = {
          epoch: o.epochs,
          lr: 0,
          steps: 0,
          loss: NaN,
          seconds: 0,
          ...(await validate(gpu, model, validRegion, validTiles, o, classes)),
        };
        result.swa.seconds = (performance.now() - started) / 1000;
      }
    }
    return result;
  } finally {
    losses.release();
    for (const s of swa) s.release();
    opt.release();
    model.release();
  }
}

/**
 * Records an optimiser step on `opt`'s parameters with their gradients from
 * `tape`, zeros for those the loss does not reach (the multiclass recipe's
 * unused heads, say), on the tape's recorder.
 */
export function recordOptimizerStep(gpu: Gpu, tape: Tape, opt: AdamW, lr: number): void {
  const zeros: GpuTensor[] = [];
  const grads = opt.params.map((p) => {
    const g = tape.grad(p);
    if (g) return g;
    const z = emptyTensor(gpu, p.shape, "f32");
    tape.rec.clear(z.buffer, 0, z.byteLength);
    zeros.push(z);
    return z;
  });
  opt.step(tape.rec, grads, lr);
  // Safe before the submit: a pooled buffer handed out again is written by later commands.
  for (const z of zeros) z.release();
}

function trainStep(
  gpu: Gpu,
  model: TrainModel,
  opt: AdamW,
  region: Region,
  refs: readonly TileRef[],
  o: TrainOptions,
  classes: number,
  lr: number,
  epoch: number,
  state: ResumeState,
  losses: GpuTensor,
): void {
  const b = refs.length, d = region.depth, t = o.tile;
  const host = fillBatch(region, refs, t, classes > 1 ? "classes" : o.lossMask ? "masked" : "ink");
  const x0 = uploadTensor(gpu, [b, 1, d, t, t], "f32", host.x);
  const y0 = uploadTensor(gpu, [b, 1, t, t], "f32", host.y);
  const rng = new Rng(mixSeed(o.seed, epoch, state.step + 1));
  const params = refs.map(() => sampleAugment(rng, o.augment, t, d));
  const rec = gpu.kernels.recorder("train step");
  const aug = recordAugment(gpu, rec, x0, y0, params);
  // The multiclass recipe one-hot encodes its 0/1/2 map inside the step, as the seed.
  const target = classes > 1 ? recordOneHot(gpu, rec, aug.labels, classes) : aug.labels;
  const dropoutSeed = o.dropout ? mixSeed(o.seed, epoch, state.step + 1, 0xd207) : undefined;
  const mixed = o.precision === "mixed";
  const tape = new Tape(gpu, rec, model.params, { dropoutSeed, mixed });
  const logits = model.forward(tape.ops, aug.tiles);
  const gy = recordBceDiceLoss(gpu, rec, logits, target, {
    out: losses,
    index: state.step,
    masked: classes === 1 && o.lossMask,
  });
  opt.scaleLoss(rec, gy); // a no-op in float32
  tape.backward(logits, gy);
  recordOptimizerStep(gpu, tape, opt, lr);
  rec.submit();
  tape.release();
  for (const t of new Set([x0, y0, aug.tiles, aug.labels, target])) t.release();
}

/**
 * Validation as the seed's: every kept tile of the region (stride tile/4),
 * probabilities of overlapping tiles combined by geometric mean, pixels
 * never covered 0; F0.5 over the mask at the seed's thresholds.
 */
async function validate(
  gpu: Gpu,
  model: TrainModel,
  region: Region,
  tiles: readonly TileRef[],
  o: TrainOptions,
  classes: number,
): Promise<Pick<EpochRecord, "f05" | "threshold" | "precision" | "recall">> {
  const [h, w, t] = [region.height, region.width, o.tile];
  const logSum = new Float64Array(h * w), count = new Uint16Array(h * w);
  const ink = classes > 1 ? 2 : 0;
  const prepared = new PreparedWeights();
  try {
    for (let i = 0; i < tiles.length; i += o.batch) {
      const refs = tiles.slice(i, i + o.batch);
      const host = fillBatch(region, refs, t);
      const x = uploadTensor(gpu, [refs.length, 1, region.depth, t, t], "f32", host.x);
      const ops = gpuOps(gpu, gpu.kernels.recorder("validate"), prepared);
      const logits = model.forward(ops, x);
      ops.rec.submit();
      const out = await downloadTensor(logits) as Float32Array;
      x.release();
      logits.release();
      refs.forEach((r, b) => {
        const base = (b * classes + ink) * t * t;
        for (let yy = 0; yy < t && r.y + yy < h; yy++) {
          for (let xx = 0; xx < t && r.x + xx < w; xx++) {
            const z = out[base + yy * t + xx];
            // log(sigmoid(z)), stable for both signs.
            const ls = z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z));
            const k = (r.y + yy) * w + r.x + xx;
            logSum[k] += ls;
            count[k]++;
          }
        }
      });
    }
  } finally {
    prepared.release();
  }
  const probs = new Float32Array(h * w);
  for (let k = 0; k < probs.length; k++) {
    probs[k] = count[k] ? Math.exp(logSum[k] / count[k]) : 0;
  }
  const counter = new ConfusionCounter();
  counter.push(probs, region.labels, region.mask);
  const counts = counter.counts();
  const best = bestThreshold(counts);
  const c = counts.find((x) => x.threshold === best.threshold) ?? counts[0];
  const f = seedFbeta(c);
  return { f05: best.f, threshold: best.threshold, precision: f.precision, recall: f.recall };
}

/**
 * torch.optim.swa_utils.update_bn: running statistics reset, then one pass
 * over the training tiles (no augmentation) with the cumulative average
 * (momentum 1 / (k + 1) for the k-th batch).
 */
function updateBatchNorm(
  gpu: Gpu,
  model: TrainModel,
  region: Region,
  tiles: readonly TileRef[],
  o: TrainOptions,
): void {
  const buffers = model.buffers();
  if (![...buffers.keys()].some((k) => k.endsWith(".running_mean"))) return;
  for (const [key, t] of buffers) {
    if (key.endsWith(".running_mean")) writeTensor(t, new Float32Array(t.size));
    if (key.endsWith(".running_var")) writeTensor(t, new Float32Array(t.size).fill(1));
  }
  const order = [...tiles];
  let k = 0;
  for (let i = 0; i + o.batch <= order.length; i += o.batch, k++) {
    const refs = order.slice(i, i + o.batch);
    const host = fillBatch(region, refs, o.tile);
    const x = uploadTensor(gpu, [refs.length, 1, region.depth, o.tile, o.tile], "f32", host.x);
    const rec = gpu.kernels.recorder("update_bn");
    const tape = new Tape(gpu, rec, [], { bnMomentum: 1 / (k + 1) });
    model.forward(tape.ops, x);
    rec.submit();
    tape.release();
    x.release();
  }
  model.batchesTracked = k; // update_bn leaves num_batches_tracked at the batches it saw
}

/** Every GPU tensor of the resumable state, by its key in the state file. */
function stateTensors(model: TrainModel, opt: AdamW, swa: GpuTensor[]): [string, GpuTensor][] {
  const out: [string, GpuTensor][] = [];
  for (const [key, t] of model.member.weights.entries()) {
    if (!key.includes("num_batches_tracked")) out.push([`model.${key}`, t]);
  }
  model.names.forEach((key, i) => {
    out.push([`adam_m.${key}`, opt.m[i]], [`adam_v.${key}`, opt.v[i]], [`swa.${key}`, swa[i]]);
  });
  // The loss scale and skipped-step counts (see OPTIM_STATE); absent from states saved before
  // mixed precision existed, where the float32 defaults apply.
  out.push([OPTIM_STATE_KEY, opt.state]);
  return out;
}

const OPTIM_STATE_KEY = "optim.state";

async function snapshot(
  gpu: Gpu,
  model: TrainModel,
  opt: AdamW,
  swa: GpuTensor[],
): Promise<Map<string, CheckpointTensor>> {
  const entries = stateTensors(model, opt, swa);
  const data = await downloadTensors(gpu, entries.map(([, t]) => t));
  return new Map(entries.map(([k, t], i) => [k, tensorFrom({ shape: t.shape, data: data[i] })]));
}

async function restore(model: TrainModel, opt: AdamW, swa: GpuTensor[], r: Resume) {
  await Promise.all(
    stateTensors(model, opt, swa).map(async ([key, t]) => {
      const src = r.tensors.get(key);
      if (!src && key === OPTIM_STATE_KEY && !opt.options.lossScale) return;
      if (!src) throw new Error(`the saved training state has no tensor "${key}"`);
      writeTensor(t, await src.data());
    }),
  );
  opt.t = r.state.adamSteps;
  model.batchesTracked = r.state.batchesTracked;
}
