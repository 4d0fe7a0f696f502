/**
 * The training loop end to end on a small synthetic fragment: it learns
 * (the loss falls), writes every checkpoint kind, validates, and a run
 * interrupted mid-epoch and resumed from its saved state ends with
 * bit-identical weights to an uninterrupted run.
 */

import assert from "node:assert/strict";
import { getGpu } from "../kernels/device.ts";
import type { StateDict } from "../data/checkpoint/tensor.ts";
import type { CheckpointTensor } from "../data/checkpoint/tensor.ts";
import { syntheticFragment } from "../data/synthetic.ts";
import { SEED_AUGMENT } from "./augment.ts";
import { loadRegion, type VolumeInput } from "./data.ts";
import { initialWeights } from "./model.ts";
import { Rng } from "./rng.ts";
import {
  type EpochRecord,
  type Resume,
  type ResumeState,
  train,
  type TrainOptions,
  type TrainSink,
} from "./trainer.ts";
import { tinyConfig } from "./_testing.ts";

const frag = syntheticFragment({ height: 128, width: 96, depth: 8, seed: 3 });
const vol: VolumeInput = {
  source: frag.volume,
  normalize: "seed",
  mask: frag.mask,
  labels: frag.labels,
};

const options: TrainOptions = {
  config: tinyConfig("cnn3d"),
  tile: 32,
  stride: 16,
  validStride: 8,
  batch: 4,
  epochs: 4,
  lr: 1e-3,
  warmupFactor: 10,
  minLr: 1e-7,
  weightDecay: 0.01,
  maxGradNorm: 100,
  swaStart: 2,
  seed: 5,
  augment: SEED_AUGMENT,
  balance: false,
  minMaskCoverage: 0,
  stepsPerEpoch: 5,
  checkpointEvery: 2,
};

class Interrupt extends Error {}

/** A sink that keeps everything in memory, optionally failing after `stopAfter` saved states. */
function memorySink(stopAfter = Infinity) {
  const checkpoints = new Map<string, StateDict>();
  const history: EpochRecord[] = [];
  let saved: Resume | undefined;
  let saves = 0;
  const sink: TrainSink = {
    checkpoint(kind, dict) {
      checkpoints.set(kind, dict);
      return Promise.resolve();
    },
    saveState(state: ResumeState, tensors: Map<string, CheckpointTensor>) {
      saved = { state: structuredClone(state), tensors };
      if (++saves >= stopAfter) throw new Interrupt("killed");
      return Promise.resolve();
    },
    epoch(record) {
      history.push(record);
      return Promise.resolve();
    },
    progress() {},
  };
  return { sink, checkpoints, history, saved: () => saved };
}

async function weightsOf(dict: StateDict): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of dict.values()) if (t.dtype === "f32") out.push(await t.data());
  return out;
}

Deno.test("training learns, validates, checkpoints, and resumes bit-identically", async () => {
  const gpu = await getGpu();
  const trainRegion = await loadRegion(vol, 0, 80, options.tile);
  const validRegion = await loadRegion(vol, 80, 128, options.tile);
  const init = () => initialWeights(options.config, new Rng(options.seed));

  const full = memorySink();
  const result = await train(gpu, trainRegion, validRegion, init(), options, full.sink);
  assert.equal(result.history.length, options.epochs);
  assert.deepEqual([...full.checkpoints.keys()].sort(), ["best", "final", "final_swa"]);
  for (const r of result.history) {
    assert.ok(Number.isFinite(r.loss) && r.steps === 5, JSON.stringify(r));
    assert.ok(r.f05 !== undefined && r.f05 >= 0 && r.f05 <= 1, JSON.stringify(r));
  }
  assert.ok(
    result.history.at(-1)!.loss < result.history[0].loss,
    `loss ${result.history[0].loss} -> ${result.history.at(-1)!.loss}`,
  );
  assert.ok(result.swa && result.swa.f05 !== undefined);

  // Killed after the 4th saved state (steps 2 and 4, the end of epoch 0, then
  // epoch 1 step 2: mid-epoch), then resumed.
  const first = memorySink(4);
  await assert.rejects(
    () => train(gpu, trainRegion, validRegion, init(), options, first.sink),
    Interrupt,
  );
  const saved = first.saved()!;
  assert.equal(saved.state.epoch, 1);
  assert.equal(saved.state.step, 2);
  const second = memorySink();
  const resumed = await train(gpu, trainRegion, validRegion, init(), options, second.sink, saved);
  assert.deepEqual(
    resumed.history.map((r) => [r.loss, r.f05]),
    result.history.map((r) => [r.loss, r.f05]),
  );
  for (const kind of ["final", "final_swa"]) {
    const a = await weightsOf(full.checkpoints.get(kind)!);
    const b = await weightsOf(second.checkpoints.get(kind)!);
    assert.equal(a.length, b.length);
    a.forEach((w, i) => assert.deepEqual(b[i], w, `${kind} tensor ${i} differs`));
  }
});

Deno.test("the loss_mask recipe trains on papyrus pixels only: finite, falling, unlike the seed's", async () => {
  const gpu = await getGpu();
  const trainRegion = await loadRegion(vol, 0, 80, options.tile);
  const o = { ...options, swaStart: 9, checkpointEvery: 0, lossMask: true };
  const init = () => initialWeights(o.config, new Rng(o.seed));
  const masked = await train(gpu, trainRegion, undefined, init(), o, memorySink().sink);
  const m = masked.history.map((r) => r.loss);
  assert.ok(m.every(Number.isFinite) && m.at(-1)! < m[0], `masked losses ${m}`);
  const plain = { ...o, epochs: 1, lossMask: false };
  const s = await train(gpu, trainRegion, undefined, init(), plain, memorySink().sink);
  assert.notEqual(s.history[0].loss, m[0]);
});

Deno.test("mixed precision trains as float32 does and resumes bit-identically, loss scale included", async () => {
  const gpu = await getGpu();
  if (!gpu.device.features.has("shader-f16")) {
    console.log("skipped: the adapter has no shader-f16");
    return;
  }
  const trainRegion = await loadRegion(vol, 0, 80, options.tile);
  const o: TrainOptions = { ...options, epochs: 2, swaStart: 9, precision: "mixed" };
  const init = () => initialWeights(o.config, new Rng(o.seed));
  const f32 = await train(
    gpu,
    trainRegion,
    undefined,
    init(),
    { ...o, precision: "f32" },
    memorySink().sink,
  );
  const full = memorySink();
  const mixed = await train(gpu, trainRegion, undefined, init(), o, full.sink);
  mixed.history.forEach((r, i) => {
    const want = f32.history[i].loss;
    // Float16 linear layers: the same descent, a few 1e-3 apart after ten steps.
    assert.ok(Math.abs(r.loss - want) < 2e-2 * want, `epoch ${i}: loss ${r.loss} vs ${want}`);
  });
  const scale = await full.saved()!.tensors.get("optim.state")!.data();
  assert.ok(scale[2] > 0 && scale[2] <= 65536, `loss scale ${scale[2]}`);

  const first = memorySink(3); // killed at epoch 1, step 2
  await assert.rejects(() => train(gpu, trainRegion, undefined, init(), o, first.sink), Interrupt);
  const second = memorySink();
  await train(gpu, trainRegion, undefined, init(), o, second.sink, first.saved());
  const a = await weightsOf(full.checkpoints.get("final")!);
  const b = await weightsOf(second.checkpoints.get("final")!);
  a.forEach((w, i) => assert.deepEqual(b[i], w, `final tensor ${i} differs`));
});
