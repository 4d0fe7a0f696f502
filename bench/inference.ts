/**
 * Inference benchmarks (issue 4): wall time and peak host memory of
 * - one member (CNN3D + SegFormer mit-b0, random weights at the real sizes)
 *   over Fragment 1 (`../shared/data/fragment1-16um`, 4 layers) with the
 *   seed's tiling (tile 256, stride 64);
 * - the same member over a generated 16-layer 8181 x 6330 fragment (the size
 *   of Kaggle fragment 1 at full resolution), at stride 256 by default on
 *   this slow adapter (`--stride 64` for the seed's);
 * - the inference tail over a generated 30000 x 12000 segment (two members,
 *   blending in bands, ensemble, post-processing, outputs): peak host memory
 *   must stay under 2 GiB.
 * Each runs as its own process, so its peak memory (getrusage max RSS in its
 * manifest) is its own.
 *
 * Usage: deno run -A bench/inference.ts [--only fragment1,generated,segment] [--stride N] [--json FILE]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { makeVolume } from "./make_volume.ts";
import { writeRandomMember } from "./random_member.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const cache = `${root}.cache/bench`;
const FRAGMENT1 = fileURLToPath(new URL("../../shared/data/fragment1-16um", import.meta.url));

interface Row {
  name: string;
  wallS: number;
  peakGiB: number;
  note: string;
}

interface NodeRecord {
  id: string;
  wallMs?: number;
  batches?: number;
  progress?: { count: number; total: number };
}

async function run(pipeline: string, sets: string[], out: string) {
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const args = ["run", "-A", `${root}engine/cli.ts`, "run", `${root}bench/pipelines/${pipeline}`];
  for (const s of sets) args.push("--set", s);
  args.push("--out", out, "--quiet");
  const { code } = await new Deno.Command(Deno.execPath(), { args, stdout: "null" }).output();
  if (code !== 0) throw new Error(`${pipeline} failed with exit code ${code}`);
  return JSON.parse(await Deno.readTextFile(`${out}/manifest.json`)) as {
    wallMs: number;
    peakMemory: { bytes: number };
    nodes: NodeRecord[];
  };
}

function tilesNote(nodes: NodeRecord[], id: string): string {
  const n = nodes.find((x) => x.id === id)!;
  const member = nodes.find((x) => x.id === "member");
  const kept = member?.progress?.count ?? 0;
  return `${kept} tiles kept of ${n.progress?.total} positions`;
}

async function singleMember(
  name: string,
  sets: string[],
  rows: Row[],
): Promise<void> {
  const weights = await writeRandomMember(`${cache}/cnn3d-b0.safetensors`, "cnn3d", "mit-b0");
  const m = await run(
    "single_member.yaml",
    [...sets, `net.weights=${weights}`],
    `${cache}/run-${name.replace(/\W+/g, "-")}`,
  );
  const net = m.nodes.find((x) => x.id === "member")!;
  const kept = net.progress?.count ?? 0;
  rows.push({
    name,
    wallS: m.wallMs / 1000,
    peakGiB: m.peakMemory.bytes / 2 ** 30,
    note: `${tilesNote(m.nodes, "tiles")}, ${
      (m.wallMs / 1000 / Math.max(1, kept)).toFixed(2)
    } s/tile`,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string", default: "fragment1,generated,segment" },
      stride: { type: "string", default: "256" },
      json: { type: "string" },
    },
  });
  const only = new Set(values.only!.split(","));
  const rows: Row[] = [];
  await Deno.mkdir(cache, { recursive: true });
  if (only.has("fragment1")) {
    try {
      await Deno.stat(FRAGMENT1);
      await singleMember(
        "single member, Fragment 1 16 um (1636 x 1266 x 4), tile 256 stride 64",
        [`input.path=${FRAGMENT1}`, "input.count=4"],
        rows,
      );
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      console.error(`skipping Fragment 1: ${FRAGMENT1} is absent`);
    }
  }
  if (only.has("generated")) {
    const path = `${cache}/synthetic-16x8181x6330.zarr`;
    await makeVolume(path, { height: 8181, width: 6330, depth: 16, chunk: 256 });
    await singleMember(
      `single member, generated 8181 x 6330 x 16, tile 256 stride ${values.stride}`,
      [`input.path=${path}`, `tiles.stride=${values.stride}`],
      rows,
    );
  }
  if (only.has("segment")) {
    const m = await run("segment_memory.yaml", [], `${cache}/run-segment`);
    rows.push({
      name: "inference tail, generated 30000 x 12000 x 16 segment, 2 members",
      wallS: m.wallMs / 1000,
      peakGiB: m.peakMemory.bytes / 2 ** 30,
      note: "members are depth maxima (tile 1024 and 512, no overlap); target: under 2 GiB",
    });
  }
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${r.wallS.toFixed(1).padStart(8)} s  ${
        r.peakGiB.toFixed(2).padStart(5)
      } GiB  (${r.note})`,
    );
  }
  const json = values.json ?? `${cache}/inference.json`;
  await Deno.writeTextFile(
    json,
    JSON.stringify({ date: new Date().toISOString(), deno: Deno.version.deno, rows }, null, 2) +
      "\n",
  );
  console.log(`json: ${json}`);
}

if (import.meta.main) await main();
