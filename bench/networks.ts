/**
 * Network benchmarks (issue 3): the forward time of each family's member at
 * a 256 x 256 tile of 16 layers with random weights at the real sizes, and
 * the GFLOP/s of the conv3d, conv2d, matmul and attention kernels on shapes
 * from those networks. Every kernel is checked against its reference on a
 * small shape before it is timed.
 *
 * Usage: deno run -A bench/networks.ts [--families a,b] [--json FILE]
 *   --families ""   kernels only (with the CNN3D's training kernels)
 *   --train a,b     also time one training step of these families (--train-tile, default 256)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { getGpu } from "../kernels/device.ts";
import { compareArrays } from "../kernels/compare.ts";
import { downloadTensor, emptyTensor, type GpuTensor, uploadTensor } from "../kernels/tensor.ts";
import { recordBceDiceLoss } from "../kernels/loss/mod.ts";
import { AdamW } from "../kernels/optim/mod.ts";
import { initialWeights, TrainModel } from "../train/model.ts";
import { Rng } from "../train/rng.ts";
import { Tape } from "../train/tape.ts";
import { recordOptimizerStep } from "../train/trainer.ts";
import {
  prepareConv3dWeight,
  recordConv3d,
  recordConv3dBackwardInput,
  recordConv3dBackwardWeight,
} from "../kernels/conv3d/mod.ts";
import {
  conv3dBackwardInputRef,
  conv3dBackwardWeightRef,
  conv3dRef,
} from "../kernels/conv3d/ref.ts";
import type { Recorder } from "../kernels/program.ts";
import { recordConv2d } from "../kernels/conv2d/mod.ts";
import { recordLinear } from "../kernels/matmul/mod.ts";
import { recordAttention } from "../kernels/attention/mod.ts";
import { FAMILIES, memberConfig } from "../networks/families.ts";
import { Member, partsSpec } from "../networks/member.ts";
import { copyGBs, fmaPeakGflops, median } from "./adapter.ts";
import { KERNEL_CASES } from "./kernel_cases.ts";

const rand = (n: number, scale = 1) =>
  Float32Array.from({ length: n }, () => (Math.random() * 2 - 1) * scale);

export interface Row {
  name: string;
  ms: number;
  gflops?: number;
  /** Bytes the kernel must move per second, GB/s. */
  gbs?: number;
  note?: string;
}

async function time(fn: () => GpuTensor | GpuTensor[], reps: number): Promise<number> {
  const gpu = await getGpu();
  const out = fn();
  await gpu.sync(); // warm-up (and shader compile)
  for (const t of [out].flat()) t.release();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const o = fn();
    await gpu.sync();
    times.push(performance.now() - t0);
    for (const t of [o].flat()) t.release();
  }
  return median(times);
}

async function kernels(rows: Row[]): Promise<void> {
  const gpu = await getGpu();
  // conv3d 3x3x3, 16 -> 16 channels, 16 x 128 x 128 (UNet3D / CNN3D shapes); checked first on a small shape.
  {
    const [ci, co] = [4, 8];
    const xs = rand(ci * 4 * 6 * 6);
    const ws = rand(co * ci * 27, 0.3);
    const bs = rand(co);
    const x = uploadTensor(gpu, [1, ci, 4, 6, 6], "f32", xs);
    const w = uploadTensor(gpu, [co, ci, 3, 3, 3], "f32", ws);
    const b = uploadTensor(gpu, [co], "f32", bs);
    const rec = gpu.kernels.recorder();
    const pw = prepareConv3dWeight(gpu, rec, w, b);
    const y = recordConv3d(gpu, rec, x, pw, { padding: 1 });
    rec.submit();
    const ref = conv3dRef(xs, ws, bs, {
      x: [1, ci, 4, 6, 6],
      w: [co, ci, 3, 3, 3],
      stride: [1, 1, 1],
      padding: [1, 1, 1],
    });
    const c = compareArrays(await downloadTensor(y) as Float32Array, ref.y);
    if (!c.ok) throw new Error(`conv3d check failed: ${c.relL2}`);
    for (const t of [x, w, b, y]) t.release();
    pw.release();
  }
  {
    const [c, d, h] = [16, 16, 128];
    const x = uploadTensor(gpu, [1, c, d, h, h], "f32", rand(c * d * h * h));
    const w = uploadTensor(gpu, [c, c, 3, 3, 3], "f32", rand(c * c * 27, 0.1));
    const rec0 = gpu.kernels.recorder();
    const pw = prepareConv3dWeight(gpu, rec0, w);
    rec0.submit();
    const ms = await time(() => {
      const rec = gpu.kernels.recorder();
      const y = recordConv3d(gpu, rec, x, pw, { padding: 1 });
      rec.submit();
      return y;
    }, 3);
    const flop = 2 * c * c * 27 * d * h * h;
    rows.push({ name: "conv3d 3x3x3 16->16, 16x128x128", ms, gflops: flop / ms / 1e6 });
    for (const t of [x, w]) t.release();
    pw.release();
  }
  // conv2d 3x3 stride 2, 64 -> 128 at 128x128 (MiT stage-2 patch embedding at a 1024 tile / 2).
  {
    const x = uploadTensor(gpu, [1, 64, 128, 128], "f32", rand(64 * 128 * 128));
    const w = uploadTensor(gpu, [128, 64, 3, 3], "f32", rand(128 * 64 * 9, 0.1));
    const ms = await time(() => {
      const rec = gpu.kernels.recorder();
      const y = recordConv2d(gpu, rec, x, w, undefined, { stride: 2, padding: 1 });
      rec.submit();
      return y;
    }, 3);
    rows.push({
      name: "conv2d 3x3 s2 64->128, 128x128",
      ms,
      gflops: (2 * 128 * 64 * 9 * 64 * 64) / ms / 1e6,
    });
    for (const t of [x, w]) t.release();
  }
  // matmul: Mix-FFN dense1 of MiT stage 1 at a 256 tile: 4096 tokens, 64 -> 256; in float32,
  // and in float16 storage where the adapter has shader-f16 (checked by kernels/matmul tests).
  const half = (a: Float32Array) => new Uint16Array(new Float16Array(a).buffer);
  for (const dtype of ["f32", "f16"] as const) {
    if (dtype === "f16" && !gpu.device.features.has("shader-f16")) continue;
    const [xh, wh] = [rand(4096 * 256), rand(256 * 256, 0.1)];
    const x = dtype === "f32"
      ? uploadTensor(gpu, [4096, 256], "f32", xh)
      : uploadTensor(gpu, [4096, 256], "f16", half(xh));
    const w = dtype === "f32"
      ? uploadTensor(gpu, [256, 256], "f32", wh)
      : uploadTensor(gpu, [256, 256], "f16", half(wh));
    const ms = await time(() => {
      const rec = gpu.kernels.recorder();
      const y = recordLinear(gpu, rec, x, w);
      rec.submit();
      return y;
    }, 3);
    rows.push({
      name: `matmul 4096x256 . 256x256${dtype === "f16" ? " (f16 storage, f32 sums)" : ""}`,
      ms,
      gflops: (2 * 4096 * 256 * 256) / ms / 1e6,
    });
    for (const t of [x, w]) t.release();
  }
  // attention: MiT stage 1 at a 512 tile: 16384 queries, 256 keys, 1 head of 64.
  {
    const [tq, tk, c] = [16384, 256, 64];
    const q = uploadTensor(gpu, [1, tq, c], "f32", rand(tq * c));
    const k = uploadTensor(gpu, [1, tk, c], "f32", rand(tk * c));
    const v = uploadTensor(gpu, [1, tk, c], "f32", rand(tk * c));
    const ms = await time(() => {
      const rec = gpu.kernels.recorder();
      const y = recordAttention(gpu, rec, q, k, v, { heads: 1 });
      rec.submit();
      return y;
    }, 3);
    rows.push({
      name: "attention 16384q x 256k, 1 head of 64",
      ms,
      gflops: (4 * tq * tk * c) / ms / 1e6,
    });
    for (const t of [q, k, v]) t.release();
  }
}

/**
 * The CNN3D's training kernels at its largest layer (conv3d_4, 16 -> 32
 * channels) on a training batch of 8 tiles of 4 x 128 x 128: the input
 * gradient (the forward kernel on flipped weights) and the weight gradient
 * (`conv_weight_grad_k3`), each checked against its reference first.
 */
async function trainingKernels(rows: Row[]): Promise<void> {
  const gpu = await getGpu();
  const o = {
    stride: [1, 1, 1] as [number, number, number],
    padding: [1, 1, 1] as [number, number, number],
  };
  {
    const xs = [2, 5, 4, 9, 11] as [number, number, number, number, number];
    const ws = [12, 5, 3, 3, 3] as [number, number, number, number, number];
    const ys = [2, 12, 4, 9, 11];
    const [xh, wh, dyh] = [rand(numel(xs)), rand(numel(ws)), rand(numel(ys))];
    const [x, w, dy] = [
      uploadTensor(gpu, xs, "f32", xh),
      uploadTensor(gpu, ws, "f32", wh),
      uploadTensor(gpu, ys, "f32", dyh),
    ];
    const rec = gpu.kernels.recorder();
    const dx = recordConv3dBackwardInput(gpu, rec, dy, w, xs, o);
    const dw = recordConv3dBackwardWeight(gpu, rec, x, dy, ws, o);
    rec.submit();
    const args = { x: xs, w: ws, ...o };
    for (
      const [got, want, what] of [
        [dx, conv3dBackwardInputRef(dyh, wh, args), "input"],
        [dw, conv3dBackwardWeightRef(xh, dyh, args), "weight"],
      ] as const
    ) {
      const c = compareArrays(await downloadTensor(got) as Float32Array, want);
      if (!c.ok) throw new Error(`conv3d backward ${what} check failed: ${c.relL2}`);
    }
    for (const t of [x, w, dy, dx, dw]) t.release();
  }
  const xs = [8, 16, 4, 128, 128], ys = [8, 32, 4, 128, 128], ws = [32, 16, 3, 3, 3];
  const x = uploadTensor(gpu, xs, "f32", rand(numel(xs)));
  const dy = uploadTensor(gpu, ys, "f32", rand(numel(ys)));
  const w = uploadTensor(gpu, ws, "f32", rand(numel(ws), 0.1));
  const flop = 2 * numel(ws) * numel(xs.slice(2)) * xs[0];
  const shape = "16->32, 8x4x128x128";
  for (
    const [name, run] of [
      [
        `conv3d backward input 3x3x3 ${shape}`,
        (rec: Recorder) => recordConv3dBackwardInput(gpu, rec, dy, w, xs, o),
      ],
      [
        `conv3d backward weight 3x3x3 ${shape}`,
        (rec: Recorder) => recordConv3dBackwardWeight(gpu, rec, x, dy, ws, o),
      ],
    ] as const
  ) {
    const ms = await time(() => {
      const rec = gpu.kernels.recorder();
      const y = run(rec);
      rec.submit();
      return y;
    }, 3);
    rows.push({ name, ms, gflops: flop / ms / 1e6 });
  }
  for (const t of [x, w, dy]) t.release();
}

const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Every case of `kernel_cases.ts`: checked at its small shape, then timed at its real one. */
async function listedKernels(rows: Row[]): Promise<void> {
  const gpu = await getGpu();
  for (const c of KERNEL_CASES) {
    const small = c.make(gpu, "small");
    const rec = gpu.kernels.recorder();
    const y = small.run(rec);
    rec.submit();
    const check = compareArrays(await downloadTensor(y) as Float32Array, small.ref());
    if (!check.ok) {
      throw new Error(`${c.name}: check against the reference failed (${check.relL2})`);
    }
    y.release();
    small.release();
    const real = c.make(gpu, "real");
    // Small kernels are recorded k times per submission, so that the ~11 ms round trip of the
    // sync does not count as kernel time.
    const batch = (k: number) => () => {
      const rec = gpu.kernels.recorder();
      const outs = Array.from({ length: k }, () => real.run(rec));
      rec.submit();
      return outs;
    };
    const once = await time(batch(1), 1);
    const k = Math.max(1, Math.min(64, Math.ceil(200 / once)));
    const ms = k === 1 ? once : await time(batch(k), 3) / k;
    rows.push({ name: c.name, ms, gflops: real.flop / ms / 1e6, gbs: real.bytes / ms / 1e6 });
    real.release();
  }
}

async function forwards(rows: Row[], families: string[]): Promise<void> {
  const gpu = await getGpu();
  const tile = 256;
  for (const family of families) {
    // UNETR's position embeddings fix its input size; at a 256 tile it has 16x16 tokens.
    const cfg = memberConfig(family, { unetr: { img_size: [16, tile, tile] } });
    const spec = partsSpec(cfg, ["encoder", "segformer", "upscalers"]);
    const t0 = performance.now();
    const member = await Member.upload(gpu, cfg, (key) => {
      const shape = spec.shapes.get(key)!;
      const n = shape.reduce((a, b) => a * b, 1);
      const fanIn = shape.length > 1 ? n / shape[0] : 1;
      const data = key.endsWith("running_var")
        ? Float32Array.from({ length: n }, () => 1)
        : rand(n, 1 / Math.sqrt(fanIn));
      return { shape, data: () => Promise.resolve(data) };
    }, ["encoder", "segformer", "upscalers"]);
    const loadMs = performance.now() - t0;
    const x = uploadTensor(
      gpu,
      [1, 1, 16, tile, tile],
      "f32",
      Float32Array.from({ length: 16 * tile * tile }, Math.random),
    );
    const ms = await time(() => member.forward(x), 1);
    rows.push({
      name: `${family} + ${presetName(cfg.segformer.depths)} forward, 1x1x16x${tile}x${tile}`,
      ms,
      note: `weights ${(spec.count() / 1e6).toFixed(1)} M, upload ${(loadMs / 1000).toFixed(1)} s`,
    });
    x.release();
    member.release();
    gpu.pool.trim();
    console.error(`${family}: ${(ms / 1000).toFixed(1)} s`);
  }
}

/**
 * One training step per family at a `tile` x `tile` tile of 16 layers, batch 1:
 * forward on a tape, the seed's loss, backward, gradient clipping and AdamW,
 * in one submission, timed after a warm-up step (random PyTorch-style
 * initial weights; dropouts on, as the seed trains).
 */
async function trainSteps(rows: Row[], families: string[], tile: number): Promise<void> {
  const gpu = await getGpu();
  for (const family of families) {
    const cfg = memberConfig(family, { unetr: { img_size: [16, tile, tile] } });
    const model = await TrainModel.create(gpu, cfg, initialWeights(cfg, new Rng(1)));
    const opt = new AdamW(gpu, model.params, { weightDecay: 0.01, maxGradNorm: 100 });
    const labels = cfg.segformer.num_labels;
    const x = uploadTensor(
      gpu,
      [1, 1, 16, tile, tile],
      "f32",
      Float32Array.from({ length: 16 * tile * tile }, Math.random),
    );
    const t = uploadTensor(
      gpu,
      [1, labels, tile, tile],
      "f32",
      Float32Array.from({ length: labels * tile * tile }, () => Math.random() < 0.2 ? 1 : 0),
    );
    const losses = emptyTensor(gpu, [4], "f32");
    const step = (k: number) => {
      const rec = gpu.kernels.recorder("bench train step");
      const tape = new Tape(gpu, rec, model.params, { dropoutSeed: k });
      const logits = model.forward(tape.ops, x);
      tape.backward(logits, recordBceDiceLoss(gpu, rec, logits, t, { out: losses, index: k }));
      recordOptimizerStep(gpu, tape, opt, 1e-4);
      rec.submit();
      tape.release();
    };
    step(0);
    await gpu.sync(); // warm-up: shader compiles
    const t0 = performance.now();
    step(1);
    await gpu.sync();
    const ms = performance.now() - t0;
    rows.push({
      name: `${family} + ${presetName(cfg.segformer.depths)} training step, 1x1x16x${tile}x${tile}`,
      ms,
      note: "forward, loss, backward, clip and AdamW in one submission",
    });
    console.error(`${family} training step: ${(ms / 1000).toFixed(1)} s`);
    for (const u of [x, t, losses]) u.release();
    opt.release();
    model.release();
    gpu.pool.trim();
  }
}

function presetName(depths: number[]): string {
  return { "3,4,18,3": "mit-b3", "3,6,40,3": "mit-b5" }[depths.join()] ?? `depths ${depths}`;
}

/** The whole network benchmark: roofline, kernels, forwards, training steps. */
export async function runNetworks(opts: {
  families: string[];
  train: string[];
  trainTile: number;
}): Promise<{ rows: Row[]; peakGflops: number; copyGBs: number }> {
  const gpu = await getGpu();
  const rows: Row[] = [];
  const peak = await fmaPeakGflops(gpu);
  const bandwidth = await copyGBs(gpu);
  await kernels(rows);
  await trainingKernels(rows);
  await listedKernels(rows);
  if (opts.families.length) await forwards(rows, opts.families);
  if (opts.train.length) await trainSteps(rows, opts.train, opts.trainTile);
  return { rows, peakGflops: peak, copyGBs: bandwidth };
}

/** One line per row: time, rates and the fraction of the roofline. */
export function formatNetworkRows(rows: Row[], peak: number, bandwidth: number): string[] {
  return rows.map((r) => {
    // The roofline: a kernel can go no faster than its FLOPs at the peak or its bytes at the copy rate.
    const roof = r.gflops && r.gbs
      ? Math.max(r.gflops / peak, r.gbs / bandwidth)
      : r.gflops
      ? r.gflops / peak
      : undefined;
    return `${r.name.padEnd(66)} ${(r.ms / 1000).toFixed(3).padStart(8)} s` +
      (r.gflops ? ` ${r.gflops.toFixed(2).padStart(7)} GFLOP/s` : "") +
      (r.gbs ? ` ${r.gbs.toFixed(2).padStart(6)} GB/s` : "") +
      (roof !== undefined ? ` ${(100 * roof).toFixed(1).padStart(5)} % of roofline` : "") +
      (r.note ? `  (${r.note})` : "");
  });
}

const list = (s: string) => s.split(",").filter((x) => x);

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      families: { type: "string", default: FAMILIES.join(",") }, // "" for kernels only
      train: { type: "string", default: "" }, // families whose training step to time
      "train-tile": { type: "string", default: "256" },
      json: { type: "string" },
    },
  });
  const gpu = await getGpu();
  const { rows, peakGflops: peak, copyGBs: bandwidth } = await runNetworks({
    families: list(values.families),
    train: list(values.train),
    trainTile: Number(values["train-tile"]),
  });
  console.log(
    `adapter: ${gpu.adapter.description}; FMA-bound peak ${peak.toFixed(1)} GFLOP/s, ` +
      `copy ${bandwidth.toFixed(2)} GB/s`,
  );
  for (const line of formatNetworkRows(rows, peak, bandwidth)) console.log(line);
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify(
        { date: new Date().toISOString(), peakGflops: peak, copyGBs: bandwidth, rows },
        null,
        2,
      ),
    );
  }
}
