import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import * as v from "valibot";
import { join } from "node:path";
import type { Gpu } from "../kernels/device.ts";
import { BatchLedger, fakeRegistry, QUICKSTART, tempFiles } from "./_testing.ts";
import type { Manifest } from "./manifest.ts";
import { loadPipeline } from "./pipeline.ts";
import { MANIFEST, runPlan } from "./run.ts";
import { validate } from "./validate.ts";

async function setup(yaml: string, ledger = new BatchLedger()) {
  const dir = await tempFiles({ "p.yaml": yaml });
  const registry = fakeRegistry(ledger);
  const plan = validate(loadPipeline(join(dir, "p.yaml")), registry);
  return { dir, out: join(dir, "out"), plan, ledger, registry };
}

function readManifest(out: string): Manifest {
  return JSON.parse(Deno.readTextFileSync(join(out, MANIFEST)));
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

Deno.test("runPlan streams through the stages and writes outputs and a manifest", async () => {
  const { dir, out, plan, ledger } = await setup(QUICKSTART);
  const { manifest } = await runPlan(plan, { outDir: out, progress: false });
  equal(Deno.readTextFileSync(join(out, "out.txt")), "3");
  deepEqual(listing(out), ["manifest.json", "out.txt"]);
  equal(ledger.made, 3);
  ok(ledger.balanced());

  const written = readManifest(out);
  deepEqual(written, JSON.parse(JSON.stringify(manifest)));
  equal(written.status, "complete");
  deepEqual(written.outputs, ["out.txt"]);
  equal(written.pipeline.file, join(dir, "p.yaml"));
  equal(written.pipeline.files[0].path, join(dir, "p.yaml"));
  equal(written.pipeline.files[0].sha256.length, 64);
  equal(written.app.name, "vesuvius-ink-webgpu");
  equal(written.runtime.deno, Deno.version.deno);
  equal(written.adapter, undefined);
  ok(written.peakMemory.bytes > 0);
  deepEqual(written.nodes.map((n) => [n.id, n.stage, n.version]), [
    ["input", "read_volume", "1"],
    ["tiles", "tile_crop", "2"],
    ["maps", "model", "1"],
    ["blend", "blend", "1"],
    ["png", "write_png", "1"],
  ]);
  const tiles = written.nodes[1];
  deepEqual(tiles.params, { tile: 4, stride: 4, batches: 3, failAt: -1 });
  deepEqual(tiles.inputs, { volume: "input.volume" });
  equal(tiles.batches, 3);
  deepEqual(tiles.progress, { count: 3, total: 3, unit: "tiles" });
  for (const node of written.nodes) {
    ok(node.startMs! >= 0 && node.endMs! >= node.startMs!, node.id);
  }
  // A streaming node ends when its consumer has read the last batch.
  ok(written.nodes[1].endMs! >= 3);
});

Deno.test("a stream read by two nodes is teed with retain/release balanced", async () => {
  const ledger = new BatchLedger();
  const { out, plan } = await setup(
    QUICKSTART + "  count:\n    stage: count\n    from: tiles\n",
    ledger,
  );
  await runPlan(plan, { outDir: out, progress: false });
  equal(Deno.readTextFileSync(join(out, "count.txt")), "3");
  equal(Deno.readTextFileSync(join(out, "out.txt")), "3");
  equal(ledger.made, 3);
  equal(ledger.retains, 3);
  ok(ledger.balanced());
});

Deno.test("a stream nobody reads is drained and released", async () => {
  const ledger = new BatchLedger();
  const { out, plan } = await setup(
    "nodes:\n  input: {stage: read_volume}\n  tiles: {stage: tile_crop, from: input}\n",
    ledger,
  );
  const { manifest } = await runPlan(plan, { outDir: out, progress: false });
  equal(ledger.made, 3);
  ok(ledger.balanced());
  deepEqual(manifest.outputs, []);
});

Deno.test("a failed run removes its outputs and writes a failed manifest", async (t) => {
  await t.step("stream fails midway", async () => {
    const ledger = new BatchLedger();
    const { out, plan } = await setup(
      QUICKSTART.replace("{tile: 4, stride: 4}", "{tile: 4, failAt: 2}") +
        "  count:\n    stage: count\n    from: tiles\n",
      ledger,
    );
    await Deno.mkdir(out);
    await Deno.writeTextFile(join(out, MANIFEST), '{"status": "complete"}');
    await rejects(
      runPlan(plan, { outDir: out, progress: false }),
      /tile_crop failed on purpose/,
    );
    deepEqual(listing(out), ["manifest.json"]);
    const manifest = readManifest(out);
    equal(manifest.status, "failed");
    equal(manifest.error, "tile_crop failed on purpose");
    ok(ledger.balanced());
  });
  await t.step(
    "a write that throws leaves no file, and finished outputs are removed",
    async () => {
      const { out, plan } = await setup(
        QUICKSTART +
          "  count:\n    stage: count\n    from: tiles\n" +
          "  png2:\n    stage: write_png\n    from: blend\n    with: {name: b.txt, fail: true, delayMs: 50}\n",
      );
      await rejects(
        runPlan(plan, { outDir: out, progress: false }),
        /write_png failed on purpose/,
      );
      deepEqual(listing(out), ["manifest.json"]);
      const manifest = readManifest(out);
      equal(manifest.status, "failed");
      deepEqual(manifest.outputs, []);
      deepEqual(manifest.removed?.sort(), ["count.txt", "out.txt"]);
    },
  );
});

Deno.test("the GPU is acquired lazily and its adapter recorded", async () => {
  const registry = fakeRegistry();
  registry.register({
    name: "gpu_probe",
    version: "1",
    description: "Touches the GPU",
    params: v.object({}),
    inputs: {},
    outputs: { files: { kind: "files", description: "" } },
    run: async (ctx) => {
      await ctx.gpu();
      await ctx.gpu();
      return { files: { kind: "files", files: [] } };
    },
  });
  const dir = await tempFiles({
    "p.yaml": "nodes:\n  probe: {stage: gpu_probe}\n",
  });
  const plan = validate(loadPipeline(join(dir, "p.yaml")), registry);
  let calls = 0;
  const adapter = { description: "fake adapter" } as Gpu["adapter"];
  const gpu = () => (calls++, Promise.resolve({ adapter } as Gpu));
  const { manifest } = await runPlan(plan, {
    outDir: join(dir, "out"),
    gpu,
    progress: false,
  });
  equal(calls, 1);
  deepEqual(manifest.adapter, adapter);
});

Deno.test("an aborted run stops the streams and fails as interrupted", async () => {
  const ledger = new BatchLedger();
  const { out, plan } = await setup(
    QUICKSTART.replace("{tile: 4, stride: 4}", "{batches: 1000}"),
    ledger,
  );
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 20);
  await rejects(
    runPlan(plan, { outDir: out, progress: false, signal: controller.signal }),
    /Run interrupted/,
  );
  ok(ledger.made < 1000);
  equal(readManifest(out).status, "failed");
  deepEqual(listing(out), ["manifest.json"]);
});

Deno.test("DEBUG lines go to the log", async () => {
  const { out, plan } = await setup(QUICKSTART);
  const { setDebugLevel } = await import("../kernels/debug.ts");
  const lines: string[] = [];
  setDebugLevel(1);
  try {
    await runPlan(plan, {
      outDir: out,
      progress: false,
      log: (l) => lines.push(l),
    });
  } finally {
    setDebugLevel(0);
  }
  ok(lines[0].startsWith("[debug] plan: "), lines[0]);
  ok(
    lines.some((l) =>
      /^\[debug\] tiles \(tile_crop\): [\d.]+ s, 3 batches in [\d.]+ s, 3\/3 tiles$/
        .test(l)
    ),
  );
});

Deno.test("a consumer that fails before reading does not hold up the run", async () => {
  const ledger = new BatchLedger();
  const registry = fakeRegistry(ledger);
  registry.register({
    name: "broken",
    version: "1",
    description: "Fails at once",
    params: v.object({}),
    inputs: { tiles: { kind: "tiles", description: "" } },
    outputs: { files: { kind: "files", description: "" } },
    run: () => Promise.reject(new Error("broken on purpose")),
  });
  const dir = await tempFiles({
    "p.yaml": QUICKSTART + "  broken:\n    stage: broken\n    from: tiles\n",
  });
  const plan = validate(loadPipeline(join(dir, "p.yaml")), registry);
  const t0 = performance.now();
  await rejects(
    runPlan(plan, { outDir: join(dir, "out"), progress: false }),
    /broken on purpose/,
  );
  ok(performance.now() - t0 < 2000);
  ok(ledger.balanced());
});

Deno.test("an optional output may be absent unless a node reads it", async () => {
  const { out, plan } = await setup(
    QUICKSTART.replace("{start: 0}", "{labels: false}"),
  );
  await runPlan(plan, { outDir: out, progress: false });
  const reads = await setup(
    QUICKSTART.replace("{start: 0}", "{labels: false}").replace(
      "input.mask",
      "input.labels",
    ),
  );
  await rejects(
    runPlan(reads.plan, { outDir: reads.out, progress: false }),
    {
      message: 'Node "input" has no output "labels" in this run, but node "blend" reads it',
    },
  );
});
