/**
 * Runs a validated {@linkcode Plan}.
 *
 * Every node's `stage.run()` is called as soon as its upstream nodes have
 * returned their outputs, so a chain of streaming stages is set up at once
 * and batches flow through it as the last stage (the sink) pulls them: the
 * sinks drive the run. A stream read by two nodes is split with
 * {@linkcode teeBatches}; a stream nobody reads is drained (each batch
 * released). A node is finished when its `run()` resolved and every stream it
 * returned has been read to the end.
 *
 * When a node fails, the run is aborted: streams throw on their next pull,
 * outputs still being written are discarded, outputs this run already wrote
 * are removed, and `manifest.json` is written with `status: "failed"` and the
 * error before the error is rethrown. So an output folder holds a complete
 * set of outputs exactly when its manifest says `"complete"`.
 *
 * @module
 */

import { resolve } from "node:path";
import { q, UserError } from "../data/errors.ts";
import type { AdapterSummary, Gpu } from "../kernels/device.ts";
import { debugLevel } from "../kernels/debug.ts";
import type { GpuBatch, PortValue, StageContext } from "../stages/types.ts";
import {
  APP_NAME,
  APP_VERSION,
  hashFiles,
  type Manifest,
  type ManifestNode,
  PeakMemory,
  runtimeInfo,
} from "./manifest.ts";
import { OutputFolder, removeIfExists, writeFileAtomic } from "./output.ts";
import { fingerprints } from "./fingerprint.ts";
import { formatTime, ProgressBoard } from "./progress.ts";
import { teeBatches } from "./tee.ts";
import { formatPlan, type Plan, type PlanNode } from "./validate.ts";

/** How to run a plan. */
export interface RunOptions {
  /** The output folder; created if missing. */
  outDir: string;
  /** GPU provider; defaults to `getGpu` of kernels/device.ts, called on first use. */
  gpu?: () => Promise<Gpu>;
  /** Draw progress bars on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  /** Aborts the run (the CLI wires Ctrl-C to it). */
  signal?: AbortSignal;
  /** Where DEBUG lines go; defaults to stderr (above the progress bars). */
  log?: (line: string) => void;
}

/** What a finished run produced. */
export interface RunResult {
  /** Absolute output folder. */
  outDir: string;
  manifest: Manifest;
}

/** The error message of a run stopped by its abort signal (Ctrl-C). */
export const INTERRUPTED = "Run interrupted";

/** The name of the manifest file in the output folder. */
export const MANIFEST = "manifest.json";

/** The folder, inside the output folder, of the nodes' work folders (kept for resuming). */
export const WORK_DIR = ".work";

const STREAM_KINDS = new Set(["tiles", "maps"]);

/**
 * Runs a plan, writes its manifest and returns it. On failure writes a
 * failed manifest, removes this run's outputs and rethrows.
 *
 * @example
 * ```ts ignore
 * const plan = validate(loadPipeline("pipelines/quickstart.yaml"), registry);
 * const { manifest } = await runPlan(plan, { outDir: "runs/quickstart" });
 * ```
 */
export async function runPlan(
  plan: Plan,
  options: RunOptions,
): Promise<RunResult> {
  const outDir = resolve(options.outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const out = new OutputFolder(outDir);
  // A manifest from an earlier run must not vouch for this run's outputs.
  await removeIfExists(resolve(outDir, MANIFEST));
  const files = await hashFiles(plan.spec.files);
  const prints = await fingerprints(plan);

  const level = debugLevel();
  const board = new ProgressBoard(options.progress ?? Deno.stderr.isTerminal());
  const log = options.log ?? ((line: string) => board.log(line));
  if (level >= 1) {
    for (const line of formatPlan(plan)) {
      log(`[debug] ${line}`);
    }
  }

  const memory = new PeakMemory();
  const started = new Date();
  const t0 = performance.now();
  const ms = () => Math.round((performance.now() - t0) * 10) / 10;

  let adapter: AdapterSummary | undefined;
  let gpu: Promise<Gpu> | undefined;
  const getGpu = () =>
    gpu ??= (options.gpu ?? defaultGpu)().then((g) => {
      adapter = g.adapter;
      return g;
    });

  let abortError: Error | undefined;
  // Rejects on abort, so no node keeps waiting for a stream nobody reads.
  const aborted = deferred();
  const abort = (e: Error) => {
    abortError ??= e;
    out.aborted = true;
    aborted.reject(abortError);
  };
  const onAbort = () => abort(new UserError(INTERRUPTED));
  options.signal?.addEventListener("abort", onAbort);

  const records = new Map<string, ManifestNode>(
    plan.nodes.map((n) => [n.id, recordOf(n)]),
  );
  // The values each consumer receives, by "consumer\0inputPort".
  const views = new Map<string, PortValue>();
  const ready = new Map<string, Promise<void>>();
  const consumers = consumersOf(plan);

  const inputsOf = (node: PlanNode) => {
    const inputs: Record<string, PortValue | undefined> = {};
    for (const port of Object.keys(node.inputs)) {
      inputs[port] = views.get(`${node.id}\0${port}`);
    }
    return inputs;
  };

  const runNode = async (
    node: PlanNode,
    setReady: () => void,
  ): Promise<void> => {
    const rec = records.get(node.id)!;
    const inputs = inputsOf(node);
    const progress = board.forNode(node.id);
    const ctx: StageContext = {
      node: node.id,
      gpu: getGpu,
      outDir,
      baseDir: plan.spec.dir,
      progress,
      writeOutput: (rel, write) => out.write(rel, write),
      fingerprint: prints.get(node.id)!,
      workDir: async () => {
        const dir = resolve(outDir, WORK_DIR, node.id);
        await Deno.mkdir(dir, { recursive: true });
        return dir;
      },
      debug: (lvl, message) => {
        if (level >= lvl) log(`[debug] ${node.id}: ${message}`);
      },
    };
    if (abortError) throw abortError;
    rec.startMs = ms();
    // Through a promise, so an error thrown synchronously is named by node too.
    const outputs = await Promise.resolve().then(() => node.stage.run(ctx, inputs, node.params))
      .catch((e) => {
        throw atNode(e, node.id);
      });
    const finished = wireOutputs(node, outputs, consumers.get(node.id)!, {
      views,
      rec,
      aborted: () => abortError,
    });
    setReady();
    await Promise.race([Promise.all(finished), aborted.promise]);
    rec.endMs = ms();
    rec.wallMs = Math.round((rec.endMs - rec.startMs) * 10) / 10;
    progress.done();
    rec.progress = progress.state();
    // A node may return without reading the whole of an input stream.
    await closeStreams(inputs);
    if (level >= 1) log(`[debug] ${timingLine(rec)}`);
  };

  const tasks: Promise<void>[] = [];
  for (const node of plan.nodes) {
    const isReady = deferred();
    ready.set(node.id, isReady.promise);
    const upstream = [
      ...new Set(Object.values(node.inputs).map((e) => ready.get(e.node)!)),
    ];
    const task = Promise.all(upstream).then(() => runNode(node, isReady.resolve));
    task.catch((e) => {
      isReady.reject(e);
      abort(e);
      // Let upstream streams end instead of waiting for this node to read them.
      void closeStreams(inputsOf(node)).catch(() => {});
    });
    tasks.push(task);
  }

  const manifest = (status: Manifest["status"]): Manifest => ({
    status,
    app: { name: APP_NAME, version: APP_VERSION },
    pipeline: {
      file: plan.spec.file,
      description: plan.spec.description,
      files,
      overrides: plan.spec.overrides,
    },
    runtime: runtimeInfo(),
    adapter,
    started: started.toISOString(),
    wallMs: ms(),
    peakMemory: memory.stop(),
    nodes: [...records.values()],
    outputs: [...out.written],
  });

  try {
    await Promise.all(tasks);
    if (abortError) throw abortError;
  } catch (e) {
    abort(e as Error);
    await settleWithin(tasks, 5000);
    const removed = await out.removeWritten();
    const failed = {
      ...manifest("failed"),
      error: (abortError ?? e as Error).message,
      removed,
    };
    await writeManifest(outDir, failed);
    throw abortError ?? e;
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    memory.stop();
  }
  // Work folders exist for resuming an interrupted run; a complete run needs them no more.
  await removeIfExists(resolve(outDir, WORK_DIR));
  const done = manifest("complete");
  await writeManifest(outDir, done);
  return { outDir, manifest: done };
}

async function defaultGpu(): Promise<Gpu> {
  const { getGpu } = await import("../kernels/device.ts");
  return getGpu();
}

function recordOf(node: PlanNode): ManifestNode {
  return {
    id: node.id,
    stage: node.stage.name,
    version: node.stage.version,
    inputs: Object.fromEntries(
      Object.entries(node.inputs).map((
        [port, e],
      ) => [port, `${e.node}.${e.port}`]),
    ),
    params: node.params,
  };
}

/** For each node, each declared output port and the consumers ("node\0port") it feeds. */
function consumersOf(plan: Plan): Map<string, Map<string, string[]>> {
  const map = new Map<string, Map<string, string[]>>();
  for (const node of plan.nodes) {
    map.set(
      node.id,
      new Map(Object.keys(node.stage.outputs).map((p) => [p, []])),
    );
  }
  for (const node of plan.nodes) {
    for (const [port, edge] of Object.entries(node.inputs)) {
      map.get(edge.node)!.get(edge.port)!.push(`${node.id}\0${port}`);
    }
  }
  return map;
}

/**
 * Hands a node's outputs to their consumers (`views`): plain values as they
 * are, streams instrumented and teed, or drained when nobody reads them.
 * Returns promises that settle when each stream has been read to the end.
 */
function wireOutputs(
  node: PlanNode,
  outputs: Record<string, PortValue>,
  users: Map<string, string[]>,
  state: {
    views: Map<string, PortValue>;
    rec: ManifestNode;
    aborted: () => Error | undefined;
  },
): Promise<void>[] {
  const finished: Promise<void>[] = [];
  for (const [port, readers] of users) {
    const value = outputs[port];
    if (!value) {
      if (!node.stage.outputs[port].optional) {
        throw new Error(
          `Stage "${node.stage.name}" returned no output "${port}"`,
        );
      }
      if (readers.length === 0) continue;
      const reader = readers[0].split("\0")[0];
      throw new UserError(
        `Node ${q(node.id)} has no output ${q(port)} in this run, but node ${q(reader)} reads it`,
      );
    }
    if (!isStream(value)) {
      for (const reader of readers) state.views.set(reader, value);
      continue;
    }
    const stream = instrument(value.batches, state.rec, state.aborted);
    finished.push(stream.finished);
    if (readers.length === 0) finished.push(drain(stream.batches));
    const branches = readers.length > 1
      ? teeBatches(stream.batches, readers.length)
      : [stream.batches];
    // Two readers of one stream cannot each tell its producer where to resume.
    const resume = readers.length > 1 ? undefined : value.resume;
    readers.forEach((reader, i) =>
      state.views.set(reader, { ...value, resume, batches: branches[i] })
    );
  }
  return finished;
}

/** Closes (`return()`) every stream among a node's inputs. */
async function closeStreams(
  inputs: Record<string, PortValue | undefined>,
): Promise<void> {
  for (const value of Object.values(inputs)) {
    if (value && isStream(value)) {
      await value.batches[Symbol.asyncIterator]().return?.();
    }
  }
}

function isStream(
  value: PortValue,
): value is Extract<PortValue, { batches: unknown }> {
  return STREAM_KINDS.has(value.kind) && "batches" in value;
}

/**
 * Wraps a node's output stream: times its `next()` calls, counts batches,
 * throws once the run is aborted, and settles `finished` when the stream
 * ends, is closed early, or throws.
 */
function instrument(
  batches: AsyncIterable<GpuBatch>,
  rec: ManifestNode,
  aborted: () => Error | undefined,
): { batches: AsyncIterable<GpuBatch>; finished: Promise<void> } {
  let settle!: (e?: unknown) => void;
  const finished = new Promise<void>((
    res,
    rej,
  ) => (settle = (e) => (e ? rej(e) : res())));
  finished.catch(() => {});
  rec.streamMs ??= 0;
  rec.batches ??= 0;
  let inner: AsyncIterator<GpuBatch> | undefined;
  const iterator: AsyncIterator<GpuBatch> = {
    async next() {
      inner ??= batches[Symbol.asyncIterator]();
      const abortError = aborted();
      if (abortError) {
        settle(abortError);
        await inner.return?.();
        throw abortError;
      }
      const t = performance.now();
      try {
        const r = await inner.next();
        if (r.done) settle();
        else rec.batches! += 1;
        return r;
      } catch (e) {
        const err = atNode(e, rec.id);
        settle(err);
        throw err;
      } finally {
        rec.streamMs = Math.round((rec.streamMs! + performance.now() - t) * 10) / 10;
      }
    },
    async return() {
      settle();
      await inner?.return?.();
      return { done: true, value: undefined };
    },
  };
  return { batches: { [Symbol.asyncIterator]: () => iterator }, finished };
}

/**
 * Names the node in a user error raised by its stage or its stream, once:
 * an error passing through downstream streams keeps the first node's name.
 */
export function atNode(e: unknown, id: string): unknown {
  if (!(e instanceof UserError) || e.message.startsWith("node ")) return e;
  return new UserError(`node "${id}": ${e.message}`, { cause: e });
}

async function drain(batches: AsyncIterable<GpuBatch>): Promise<void> {
  for await (const batch of batches) batch.release();
}

async function settleWithin(
  tasks: Promise<unknown>[],
  timeoutMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((
    res,
  ) => (timer = setTimeout(res, timeoutMs)));
  await Promise.race([Promise.allSettled(tasks), timeout]);
  clearTimeout(timer);
}

async function writeManifest(
  outDir: string,
  manifest: Manifest,
): Promise<void> {
  const text = JSON.stringify(manifest, null, 2) + "\n";
  await writeFileAtomic(resolve(outDir, MANIFEST), text);
}

/** A promise with its resolve and reject; a rejection nobody awaits is not reported. */
function deferred(): {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
} {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((
    res,
    rej,
  ) => ((resolve = res), (reject = rej)));
  promise.catch(() => {});
  return { promise, resolve, reject };
}

/** One line of per-node timing for DEBUG=1. */
export function timingLine(rec: ManifestNode): string {
  const parts = [`${rec.id} (${rec.stage}): ${formatSeconds(rec.wallMs ?? 0)}`];
  if (rec.batches) {
    parts.push(`${rec.batches} batches in ${formatSeconds(rec.streamMs ?? 0)}`);
  }
  const p = rec.progress;
  if (p) parts.push(`${p.count}/${p.total} ${p.unit}`);
  return parts.join(", ");
}

function formatSeconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(2)} s` : formatTime(ms / 1000);
}
