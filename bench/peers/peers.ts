/**
 * The peer benchmark (issue 6): the same ops and the same model, run by our
 * kernels, by onnxruntime-web on its WebGPU backend and by tfjs-backend-webgpu
 * on the same adapter, and by onnxruntime-node on the CPU as the absolute
 * reference. The cases (ONNX files, shapes, weights) come from
 * `export_onnx.py`. Every runtime is timed two ways: host to host (the input
 * array uploaded, the op, the output read back; weights stay resident), the
 * median of repeated runs after a warm-up; and streamed (k runs back to
 * back, each uploading its input and leaving its output on the device, one
 * wait at the end, divided by k), which is what a pipeline that keeps
 * tensors on the GPU sees and what the 11 ms readback floor hides in the
 * first. Every op's output is compared with onnxruntime-node's. A peer that
 * cannot run a case says why.
 *
 * The peers are benchmark-only dependencies with their own `deno.json` here,
 * so the product and its CI never install them:
 *
 *   cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip deno install
 *   deno run -A --config bench/peers/deno.json bench/peers/peers.ts [--json FILE] [--reps N]
 *
 * `deno task bench` runs it when `bench/peers/node_modules` exists.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import * as ortWeb from "onnxruntime-web/webgpu";
import * as ortNode from "onnxruntime-node";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { getGpu } from "../../kernels/device.ts";
import {
  downloadTensor,
  type GpuTensor,
  uploadTensor,
} from "../../kernels/tensor.ts";
import { prepareConv3dWeight, recordConv3d } from "../../kernels/conv3d/mod.ts";
import { recordConv2d } from "../../kernels/conv2d/mod.ts";
import { recordLinear } from "../../kernels/matmul/mod.ts";
import { recordLayerNorm } from "../../kernels/layer_norm/mod.ts";
import { recordGelu } from "../../kernels/gelu/mod.ts";
import { memberConfig } from "../../networks/families.ts";
import { Member, partsSpec } from "../../networks/member.ts";
import { median } from "../adapter.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = fileURLToPath(new URL("../..", import.meta.url));

/** One case of `manifest.json`, as `export_onnx.py` writes it. */
interface Case {
  name: string;
  op: "conv3d" | "conv2d" | "matmul" | "layer_norm" | "gelu" | "model";
  params: { stride?: number; padding?: number; groups?: number };
  file: string;
  input: number[];
  flop: number | null;
  weight?: { file: string; shape: number[] };
}

/** A runtime's result on one case: its median time, or why it has none. */
export interface PeerResult {
  /** Host to host: median of repeated runs. */
  ms?: number;
  /** Streamed: upload + op per run, outputs left on the device, one wait for k runs. */
  streamMs?: number;
  /** Relative L2 distance of its output from onnxruntime-node's. */
  relL2?: number;
  error?: string;
}

/** One row of the peer table. */
export interface PeerRow {
  name: string;
  flop: number | null;
  ours: PeerResult;
  ortWebgpu: PeerResult;
  tfjsWebgpu: PeerResult;
  ortCpu: PeerResult;
}

const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / Math.max(n, 1e-30));
}

function oneLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split("\n")[0].slice(
    0,
    160,
  );
}

/**
 * Times `run` (which returns a promise resolving once its output is back or,
 * for a GPU runtime, once `finish` has waited for it): a warm-up, then the
 * median of `reps` runs.
 */
async function timed<T>(
  run: () => Promise<T>,
  reps: number,
): Promise<{ ms: number; out: T }> {
  let out = await run(); // warm-up: shader and session compiles
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    out = await run();
    times.push(performance.now() - t0);
  }
  return { ms: median(times), out };
}

/** Runs chosen so a streamed measurement lasts about a second (3 to 40). */
function streamRuns(hostMs: number): number {
  return Math.max(3, Math.min(40, Math.ceil(1000 / Math.max(hostMs, 1))));
}

/**
 * Times `k` calls of `launch` (each queues one run, its output left on the
 * device) and one `finish` (waits for the queue), after one warm-up round.
 */
async function streamed(
  launch: () => Promise<void> | void,
  finish: () => Promise<void>,
  k: number,
): Promise<number> {
  await launch();
  await finish();
  const t0 = performance.now();
  for (let i = 0; i < k; i++) await launch();
  await finish();
  return (performance.now() - t0) / k;
}

/** Exports the cases (once; cached under .cache/peers) and reads the manifest. */
async function loadCases(dir: string): Promise<Case[]> {
  const manifest = `${dir}/manifest.json`;
  try {
    await Deno.stat(manifest);
  } catch {
    const { code } = await new Deno.Command("/usr/bin/python3", {
      args: [`${here}export_onnx.py`, dir],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      throw new Error(`export_onnx.py failed with exit code ${code}`);
    }
  }
  return JSON.parse(await Deno.readTextFile(manifest));
}

async function readF32(path: string): Promise<Float32Array> {
  const bytes = await Deno.readFile(path);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

function randomInput(n: number, seed: number): Float32Array {
  // A small LCG: the same input for every runtime.
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 32 * 2 - 1;
  }
  return a;
}

/** Our kernels on one case; the output comes back only for the check. */
async function ours(
  c: Case,
  x: Float32Array,
  w: Float32Array | undefined,
  reps: number,
): Promise<{ ms: number; streamMs: number; out?: Float32Array }> {
  const gpu = await getGpu();
  const wt = w && c.weight
    ? uploadTensor(gpu, c.weight.shape, "f32", w)
    : undefined;
  const held: { release(): void }[] = [];
  if (wt) held.push(wt);
  let record: (
    rec: ReturnType<typeof gpu.kernels.recorder>,
    xt: GpuTensor,
  ) => GpuTensor;
  switch (c.op) {
    case "conv3d": {
      const r = gpu.kernels.recorder();
      const pw = prepareConv3dWeight(gpu, r, wt!);
      r.submit();
      held.push(pw);
      record = (rec, xt) =>
        recordConv3d(gpu, rec, xt, pw, { padding: c.params.padding });
      break;
    }
    case "conv2d":
      record = (rec, xt) =>
        recordConv2d(gpu, rec, xt, wt!, undefined, {
          stride: c.params.stride,
          padding: c.params.padding,
          groups: c.params.groups,
        });
      break;
    case "matmul":
      record = (rec, xt) => recordLinear(gpu, rec, xt, wt!);
      break;
    case "layer_norm": {
      const ch = c.input[c.input.length - 1];
      const gamma = uploadTensor(
        gpu,
        [ch],
        "f32",
        new Float32Array(ch).fill(1),
      );
      const beta = uploadTensor(gpu, [ch], "f32", new Float32Array(ch));
      held.push(gamma, beta);
      record = (rec, xt) => recordLayerNorm(gpu, rec, xt, gamma, beta);
      break;
    }
    case "gelu":
      record = (rec, xt) => recordGelu(gpu, rec, xt);
      break;
    case "model": {
      const cfg = memberConfig("cnn3d", { segformer: "mit-b0" });
      const parts = ["encoder", "segformer", "upscalers"] as const;
      const spec = partsSpec(cfg, [...parts]);
      const member = await Member.upload(gpu, cfg, (key) => {
        const shape = spec.shapes.get(key)!;
        const n = numel(shape);
        const fanIn = shape.length > 1 ? n / shape[0] : 1;
        const data = key.endsWith("running_var")
          ? new Float32Array(n).fill(1)
          : randomInput(n, n).map((v) => v / Math.sqrt(fanIn));
        return { shape, data: () => Promise.resolve(data) };
      }, [...parts]);
      held.push(member);
      const { ms } = await timed(async () => {
        const xt = uploadTensor(gpu, c.input, "f32", x);
        const y = member.forward(xt);
        await downloadTensor(y);
        for (const t of [xt, y]) t.release();
      }, reps);
      const streamMs = await streamed(
        () => {
          const xt = uploadTensor(gpu, c.input, "f32", x);
          const y = member.forward(xt);
          for (const t of [xt, y]) t.release(); // pooled: later commands reuse them in order
        },
        () => gpu.device.queue.onSubmittedWorkDone(),
        2,
      );
      for (const h of held) h.release();
      return { ms, streamMs };
    }
  }
  const { ms, out } = await timed(async () => {
    const xt = uploadTensor(gpu, c.input, "f32", x);
    const rec = gpu.kernels.recorder();
    const y = record(rec, xt);
    rec.submit();
    const out = await downloadTensor(y) as Float32Array;
    for (const t of [xt, y]) t.release();
    return out;
  }, reps);
  const streamMs = await streamed(
    () => {
      const xt = uploadTensor(gpu, c.input, "f32", x);
      const rec = gpu.kernels.recorder();
      const y = record(rec, xt);
      rec.submit();
      for (const t of [xt, y]) t.release(); // pooled: later commands reuse them in order
    },
    () => gpu.device.queue.onSubmittedWorkDone(),
    streamRuns(ms),
  );
  for (const h of held) h.release();
  return { ms, streamMs, out };
}

/** onnxruntime (web on WebGPU, or node on the CPU) on one case's ONNX file. */
async function ort(
  lib: typeof ortWeb | typeof ortNode,
  options: Record<string, unknown>,
  model: Uint8Array,
  c: Case,
  x: Float32Array,
  reps: number,
): Promise<{ ms: number; streamMs: number; out: Float32Array }> {
  // deno-lint-ignore no-explicit-any
  const L = lib as any;
  const session = await L.InferenceSession.create(model, options);
  const feeds = { x: new L.Tensor("float32", x, c.input) };
  let ms: number, out: Float32Array;
  try {
    ({ ms, out } = await timed(async () => {
      const r = await session.run(feeds);
      return await r.y.getData() as Float32Array;
    }, reps));
  } finally {
    await session.release();
  }
  // Streamed: on WebGPU the outputs stay in GPU buffers; the CPU runtime has nothing to stream.
  const gpuOut = options.executionProviders !== undefined;
  if (!gpuOut) return { ms, streamMs: ms, out };
  const resident = await L.InferenceSession.create(model, {
    ...options,
    preferredOutputLocation: "gpu-buffer",
  });
  try {
    // deno-lint-ignore no-explicit-any
    let last: any;
    const streamMs = await streamed(async () => {
      last?.dispose();
      last = (await resident.run(feeds)).y;
    }, async () => {
      await last.getData(true);
      last = undefined;
    }, c.op === "model" ? 2 : streamRuns(ms));
    return { ms, streamMs, out };
  } finally {
    await resident.release();
  }
}

/**
 * tfjs-backend-webgpu on one case, the op rebuilt from the manifest in tfjs's
 * layouts (NDHWC / NHWC; the host input is transposed once, outside the
 * timing, and the output transposed back for the check only).
 */
async function tfjs(
  c: Case,
  x: Float32Array,
  w: Float32Array | undefined,
  reps: number,
): Promise<{ ms: number; streamMs: number; out: Float32Array }> {
  const keep: tf.Tensor[] = [];
  const t = <T extends tf.Tensor>(v: T) => (keep.push(v), v);
  const p = c.params;
  const host = async (v: tf.Tensor) => {
    const d = await v.data() as Float32Array;
    v.dispose();
    return d;
  };
  const weight = (): tf.Tensor => tf.tensor(w!, c.weight!.shape);
  let shape = c.input; // tfjs's input shape
  let xh = x; // the host input in tfjs's layout
  let op: (xt: tf.Tensor) => tf.Tensor;
  let back: (y: tf.Tensor) => tf.Tensor = (y) => y; // to PyTorch's layout
  switch (c.op) {
    case "conv3d": {
      if (p.padding !== 1 || p.stride !== 1) {
        throw new Error("only 'same' 3x3x3 convolutions");
      }
      // NCDHW -> NDHWC; (Co, Ci, kd, kh, kw) -> (kd, kh, kw, Ci, Co).
      const [n, ch, d, h, wd] = c.input;
      shape = [n, d, h, wd, ch];
      xh = await host(tf.transpose(tf.tensor(x, c.input), [0, 2, 3, 4, 1]));
      const wt = t(tf.transpose(weight(), [2, 3, 4, 1, 0]) as tf.Tensor5D);
      op = (xt) => tf.conv3d(xt as tf.Tensor5D, wt, 1, "same");
      back = (y) => tf.transpose(y, [0, 4, 1, 2, 3]);
      break;
    }
    case "conv2d": {
      const [n, ch, h, wd] = c.input;
      shape = [n, h, wd, ch];
      xh = await host(tf.transpose(tf.tensor(x, c.input), [0, 2, 3, 1]));
      const s = p.stride!, pad = p.padding!;
      const explicit: [
        [number, number],
        [number, number],
        [number, number],
        [number, number],
      ] = [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
      if ((p.groups ?? 1) > 1) {
        // (C, 1, kh, kw) -> (kh, kw, C, 1)
        const wt = t(tf.transpose(weight(), [2, 3, 0, 1]) as tf.Tensor4D);
        op = (xt) => tf.depthwiseConv2d(xt as tf.Tensor4D, wt, s, explicit);
      } else {
        const wt = t(tf.transpose(weight(), [2, 3, 1, 0]) as tf.Tensor4D);
        op = (xt) => tf.conv2d(xt as tf.Tensor4D, wt, s, explicit);
      }
      back = (y) => tf.transpose(y, [0, 3, 1, 2]);
      break;
    }
    case "matmul": {
      const wt = t(tf.tensor2d(w!, c.weight!.shape as [number, number]));
      op = (xt) => tf.matMul(xt as tf.Tensor2D, wt, false, true);
      break;
    }
    case "layer_norm":
      op = (xt) =>
        tf.tidy(() => {
          const { mean, variance } = tf.moments(xt, -1, true);
          return tf.mul(tf.sub(xt, mean), tf.rsqrt(tf.add(variance, 1e-5)));
        });
      break;
    case "gelu":
      op = (xt) =>
        tf.tidy(() =>
          tf.mul(tf.mul(xt, 0.5), tf.add(1, tf.erf(tf.div(xt, Math.SQRT2))))
        );
      break;
    default:
      throw new Error("tfjs cannot load ONNX models");
  }
  try {
    // Host to host, as the other runtimes: upload, the op, read back.
    const { ms, out } = await timed(async () => {
      const xt = tf.tensor(xh, shape);
      const y = op(xt);
      xt.dispose();
      return await host(y);
    }, reps);
    let last: tf.Tensor | undefined;
    const streamMs = await streamed(() => {
      last?.dispose();
      const xt = tf.tensor(xh, shape);
      last = op(xt);
      xt.dispose();
    }, async () => {
      await host(last!);
      last = undefined;
    }, streamRuns(ms));
    const y = back(tf.tensor(out, tf.tidy(() => op(tf.zeros(shape))).shape));
    return { ms, streamMs, out: await host(y) };
  } finally {
    tf.dispose(keep);
  }
}

async function settle<
  T extends { ms: number; streamMs?: number; out?: Float32Array },
>(
  f: () => Promise<T>,
  want: Float32Array | undefined,
): Promise<PeerResult> {
  try {
    const r = await f();
    const res: PeerResult = { ms: r.ms, streamMs: r.streamMs };
    if (want && r.out) {
      res.relL2 = relL2(r.out, want);
      if (!(res.relL2 < 1e-3)) {
        res.error = `output differs (rel L2 ${res.relL2.toExponential(1)})`;
      }
    }
    return res;
  } catch (e) {
    return { error: oneLine(e) };
  }
}

/** Runs every case on every runtime; returns the rows. */
export async function peerRows(
  opts: { reps?: number; dir?: string; only?: string } = {},
): Promise<PeerRow[]> {
  const reps = opts.reps ?? 3;
  const dir = opts.dir ?? `${root}.cache/peers`;
  const cases = await loadCases(dir);
  // deno-lint-ignore no-explicit-any
  (ortWeb.env as any).wasm.numThreads = 1; // Deno has no cross-origin-isolated threads here
  ortWeb.env.logLevel = "error";
  await tf.setBackend("webgpu");
  await tf.ready();
  const rows: PeerRow[] = [];
  for (const c of cases) {
    if (opts.only && !c.name.includes(opts.only)) continue;
    const model = await Deno.readFile(`${dir}/${c.file}`);
    const x = randomInput(numel(c.input), 7);
    const w = c.weight ? await readF32(`${dir}/${c.weight.file}`) : undefined;
    const modelReps = c.op === "model" ? 1 : reps;
    let want: Float32Array | undefined;
    const ortCpu = await settle(async () => {
      const r = await ort(
        ortNode,
        { intraOpNumThreads: 2 },
        model,
        c,
        x,
        modelReps,
      );
      want = r.out;
      return r;
    }, undefined);
    const check = c.op === "model" ? undefined : want;
    const row: PeerRow = {
      name: c.name,
      flop: c.flop,
      ours: await settle(() => ours(c, x, w, modelReps), check),
      ortWebgpu: await settle(
        () =>
          ort(
            ortWeb,
            { executionProviders: ["webgpu"] },
            model,
            c,
            x,
            modelReps,
          ),
        check,
      ),
      tfjsWebgpu: await settle(() => tfjs(c, x, w, reps), check),
      ortCpu,
    };
    rows.push(row);
    console.error(`peers: ${c.name} done`);
  }
  return rows;
}

/**
 * The table for one measurement (host to host, or streamed): each runtime's
 * time and our speed-up over the faster WebGPU peer and over the CPU.
 */
export function peerTable(
  rows: PeerRow[],
  key: "ms" | "streamMs" = "ms",
): string {
  const fmt = (r: PeerResult) =>
    r[key] !== undefined && !r.error
      ? `${r[key]!.toFixed(1)} ms`
      : `- (${r.error})`;
  const lines = [
    "| case | ours | onnxruntime-web/webgpu | tfjs-webgpu | ours vs faster WebGPU peer | onnxruntime-node CPU | ours vs CPU |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const peers = [r.ortWebgpu, r.tfjsWebgpu].filter((p) =>
      p[key] !== undefined && !p.error
    );
    const best = peers.length
      ? Math.min(...peers.map((p) => p[key]!))
      : undefined;
    const o = r.ours[key];
    const vs = (
      x?: number,
    ) => (o !== undefined && x !== undefined ? `${(x / o).toFixed(2)}x` : "-");
    lines.push(
      `| ${r.name} | ${fmt(r.ours)} | ${fmt(r.ortWebgpu)} | ${
        fmt(r.tfjsWebgpu)
      } | ${vs(best)} | ${fmt(r.ortCpu)} | ${vs(r.ortCpu[key])} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      json: { type: "string" },
      reps: { type: "string", default: "3" },
      only: { type: "string" }, // cases whose name contains this
    },
  });
  const rows = await peerRows({ reps: Number(values.reps), only: values.only });
  console.log(
    "Host to host (upload, run, read back; median after a warm-up):\n",
  );
  console.log(peerTable(rows, "ms"));
  console.log(
    "\nStreamed (upload and run k times, outputs left on the device, one wait):\n",
  );
  console.log(peerTable(rows, "streamMs"));
  if (values.json) {
    await Deno.writeTextFile(
      values.json,
      JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + "\n",
    );
  }
}
