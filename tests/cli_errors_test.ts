/**
 * Bad input through the real CLI: each case must print exactly one line,
 * `error: ...` naming the file, node or parameter, exit non-zero, and leave
 * no output that looks complete (no output files, no "complete" manifest).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { writeStack } from "../data/_test_util.ts";
import { writeTiff } from "../data/tiff.ts";
import { createZarrV3 } from "../data/zarr.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

interface CliResult {
  code: number;
  stderr: string;
  outputs: string[];
  manifestStatus?: string;
}

/** Runs `deno task run`'s command on a pipeline that reads `input` and writes a PNG. */
async function runOn(input: string, extra: Record<string, unknown> = {}): Promise<CliResult> {
  const dir = await Deno.makeTempDir({ prefix: "ink-cli-" });
  const out = `${dir}/out`;
  const withs = Object.entries({ path: input, ...extra }).map(([k, v]) =>
    `${k}: ${JSON.stringify(v)}`
  );
  await Deno.writeTextFile(
    `${dir}/p.yaml`,
    [
      "nodes:",
      "  input:",
      "    stage: read_volume",
      `    with: { ${withs.join(", ")} }`,
      "  tiles:",
      "    stage: tile_crop",
      "    from: input",
      "    with: { tile: 32, stride: 8, batch: 2 }",
      "  flat:",
      "    stage: flatten_depth",
      "    from: tiles",
      "  blended:",
      "    stage: blend",
      "    from: flat",
      "  png:",
      "    stage: write_png",
      "    from: blended",
      "    with: { path: out.png }",
    ].join("\n") + "\n",
  );
  const res = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}engine/cli.ts`, "run", `${dir}/p.yaml`, "--out", out, "--quiet"],
    stdout: "null",
    stderr: "piped",
    env: { RUST_BACKTRACE: "1" },
  }).output();
  const outputs: string[] = [];
  let manifestStatus: string | undefined;
  try {
    for await (const e of Deno.readDir(out)) {
      if (e.name === "manifest.json") {
        manifestStatus = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`)).status;
      } else if (e.name !== ".work") outputs.push(e.name); // work kept for resuming is no output
    }
  } catch { /* no output folder at all */ }
  await Deno.remove(dir, { recursive: true });
  return {
    code: res.code,
    stderr: new TextDecoder().decode(res.stderr).trimEnd(),
    outputs,
    manifestStatus,
  };
}

function assertCleanFailure(r: CliResult, pattern: RegExp): void {
  if (Deno.env.get("SHOW")) console.log(r.stderr);
  assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.split("\n").filter((l) => !l.includes("XDG_RUNTIME_DIR"));
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0], /^error: /);
  assert.match(lines[0], pattern);
  assert.deepEqual(r.outputs, [], "no output files");
  assert.notEqual(r.manifestStatus, "complete");
}

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "ink-frag-" });
}

Deno.test("a missing slice in a stack", async () => {
  const dir = await tempDir();
  await writeStack(dir, { depth: 4, height: 40, width: 40 });
  await Deno.remove(`${dir}/surface_volume/02.tif`);
  assertCleanFailure(await runOn(dir), /"02\.tif".*missing|missing.*"02\.tif"/);
});

Deno.test("slices of different sizes", async () => {
  const dir = await tempDir();
  await writeStack(dir, { depth: 3, height: 40, width: 40 });
  await writeTiff(`${dir}/surface_volume/01.tif`, 40, 36, new Uint16Array(40 * 36));
  assertCleanFailure(await runOn(dir), /"01\.tif".*40x36.*40x40|01\.tif/);
});

Deno.test("an 8-bit slice in a 16-bit stack", async () => {
  const dir = await tempDir();
  await writeStack(dir, { depth: 3, height: 40, width: 40 });
  await writeTiff(`${dir}/surface_volume/02.tif`, 40, 40, new Uint8Array(40 * 40));
  assertCleanFailure(await runOn(dir), /"02\.tif".*8-bit.*16-bit|02\.tif.*8/);
});

Deno.test("a corrupt Zarr chunk fails mid-stream and removes what was written", async () => {
  const dir = await tempDir();
  const path = `${dir}/v.zarr`;
  const w = await createZarrV3(path, { shape: [2, 64, 64], dtype: "uint16", chunks: [2, 32, 32] });
  const data = new Uint16Array(2 * 64 * 64).map((_, i) => 1 + (i % 1000));
  await w.writeRegion([0, 0, 0], [2, 64, 64], data);
  await w.close();
  // Truncate the last chunk: it is read only after earlier tiles were cropped.
  const chunk = `${path}/c/0/1/1`;
  const bytes = await Deno.readFile(chunk);
  await Deno.writeFile(chunk, bytes.subarray(0, bytes.length - 5));
  assertCleanFailure(await runOn(path), /Cannot read chunk .*v\.zarr/);
});

Deno.test("a nonexistent path", async () => {
  const dir = await tempDir();
  const r = await runOn(`${dir}/nowhere`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: .*parameter "path" .*nowhere.* does not exist$/m);
  assert.deepEqual(r.outputs, []);
});

Deno.test("a depth window past the last layer", async () => {
  const dir = await tempDir();
  await writeStack(dir, { depth: 4, height: 40, width: 40 });
  assertCleanFailure(
    await runOn(dir, { start: 2, count: 16 }),
    /Depth window start 2 count 16 .* 4 layers/,
  );
});
