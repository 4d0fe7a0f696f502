/**
 * `deno task bench`: measures, in one run,
 * - the adapter's floors (round trip, upload, readback) and roofline (FMA
 *   peak, copy bandwidth);
 * - every production kernel, checked against its reference and then timed,
 *   each family's forward at a 256 x 256 x 16 tile and its training step
 *   (`bench/networks.ts`);
 * - the peers on the same ops and model (`bench/peers/peers.ts`, in its own
 *   process with its own dependencies; skipped with a message when they are
 *   not installed);
 * - the streaming of a generated 16-layer volume through
 *   `read_volume -> tile_crop` on the GPU, with peak host memory.
 * Prints the tables and writes the numbers as JSON.
 *
 * Usage: deno task bench [--quick] [--no-peers] [--json FILE]
 *   --quick   cnn3d only for forwards and training steps, a 16 x 2048 x 2048
 *             volume instead of 16 x 8192 x 8192 (2 GiB)
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { getGpu } from "../kernels/device.ts";
import { copyGBs, fmaPeakGflops, readbackGBs, roundTripMs, uploadGBs } from "./adapter.ts";
import { makeVolume } from "./make_volume.ts";
import { FAMILIES } from "../networks/families.ts";
import { formatNetworkRows, runNetworks } from "./networks.ts";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Row {
  name: string;
  value: number;
  unit: string;
  note?: string;
}

async function streamBench(side: number, rows: Row[]): Promise<void> {
  const depth = 16;
  const path = `${root}.cache/bench/synthetic-${depth}x${side}x${side}.zarr`;
  const t0 = performance.now();
  await makeVolume(path, { height: side, width: side, depth, chunk: 256 });
  const genS = (performance.now() - t0) / 1000;
  if (genS > 1) console.error(`generated ${path} in ${genS.toFixed(1)} s`);
  const out = `${root}.cache/bench/run-stream-${side}`;
  // A separate process, so that its peak memory (VmHWM) is this pipeline's alone.
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}engine/cli.ts`,
      "run",
      `${root}bench/pipelines/stream_tiles.yaml`,
      "--set",
      `input.path=${path}`,
      "--out",
      out,
      "--quiet",
    ],
    stdout: "null",
    stderr: "inherit",
  });
  const t1 = performance.now();
  const { code } = await cmd.output();
  const wallS = (performance.now() - t1) / 1000;
  if (code !== 0) throw new Error(`stream benchmark failed with exit code ${code}`);
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
  const bytes = depth * side * side * 2;
  const runS = manifest.wallMs / 1000;
  const tiles = manifest.nodes.find((n: { id: string }) => n.id === "tiles");
  const label = `${depth}x${side}x${side} u16 (${
    (bytes / 2 ** 30).toFixed(2)
  } GiB), tile 1024 stride 256`;
  rows.push(
    {
      name: `stream ${label}: wall`,
      value: runS,
      unit: "s",
      note: `process ${wallS.toFixed(1)} s incl. start`,
    },
    {
      name: `stream ${label}: throughput`,
      value: bytes / runS / 1e6,
      unit: "MB/s",
      note: "raw voxel bytes read, cropped and normalised on the GPU",
    },
    {
      name: `stream ${label}: peak host memory`,
      value: manifest.peakMemory.bytes / 2 ** 30,
      unit: "GiB",
      note: manifest.peakMemory.source,
    },
  );
  rows.push({
    name: `stream ${label}: batches of 2 tiles`,
    value: tiles.batches,
    unit: "batches",
    note: `${
      (tiles.batches * 2 / runS).toFixed(1)
    } tiles/s, ${tiles.progress.total} grid positions`,
  });
}

/**
 * The peers in their own process (their dependencies live in bench/peers);
 * undefined, with a message, when they are not installed.
 */
async function peerBench(): Promise<{ rows: unknown[]; table: string } | undefined> {
  try {
    await Deno.stat(`${root}bench/peers/node_modules`);
  } catch {
    console.error(
      "peers skipped: install them with `cd bench/peers && ONNXRUNTIME_NODE_INSTALL=skip deno install`",
    );
    return undefined;
  }
  await Deno.mkdir(`${root}.cache/bench`, { recursive: true });
  const json = `${root}.cache/bench/peers.json`;
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      `${root}bench/peers/deno.json`,
      `${root}bench/peers/peers.ts`,
      "--json",
      json,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    console.error(`peers failed with exit code ${code}`);
    return undefined;
  }
  return {
    rows: JSON.parse(await Deno.readTextFile(json)).rows,
    table: new TextDecoder().decode(stdout).trim(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      "no-peers": { type: "boolean", default: false },
      json: { type: "string" },
    },
  });
  const rows: Row[] = [];
  // Volume streaming first, in its own process, while this one is still small: Linux carries a
  // parent's resident high-water mark into a child's getrusage maxrss across fork and exec, so
  // a child started after the networks below would report this process's peak, not its own.
  await streamBench(values.quick ? 2048 : 8192, rows);
  const gpu = await getGpu();
  rows.push(
    {
      name: "round trip (dispatch + onSubmittedWorkDone)",
      value: await roundTripMs(gpu),
      unit: "ms",
    },
    { name: "upload (writeBuffer 64 MiB)", value: await uploadGBs(gpu), unit: "GB/s" },
    { name: "readback (copy + mapAsync 64 MiB)", value: await readbackGBs(gpu), unit: "GB/s" },
    {
      name: "arithmetic peak (FMA-bound kernel)",
      value: await fmaPeakGflops(gpu),
      unit: "GFLOP/s",
      note: "8 vec4 FMA chains per invocation, 65536 invocations",
    },
    {
      name: "memory bandwidth (copy kernel, 64 MiB)",
      value: await copyGBs(gpu),
      unit: "GB/s",
      note: "bytes read + written",
    },
  );
  const families = values.quick ? ["cnn3d"] : [...FAMILIES];
  const networks = await runNetworks({ families, train: families, trainTile: 256 });
  const peers = values["no-peers"] ? undefined : await peerBench();

  console.log(`\nkernels and networks (${gpu.adapter.description}):`);
  for (const line of formatNetworkRows(networks.rows, networks.peakGflops, networks.copyGBs)) {
    console.log(line);
  }
  if (peers) console.log(`\npeers:\n${peers.table}`);
  console.log("");

  const width = Math.max(...rows.map((r) => r.name.length));
  console.log(`adapter: ${gpu.adapter.description} (${gpu.adapter.backend})`);
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(width)}  ${r.value.toFixed(3).padStart(10)} ${r.unit}${
        r.note ? `  (${r.note})` : ""
      }`,
    );
  }
  const result = {
    date: new Date().toISOString(),
    adapter: gpu.adapter.description,
    backend: gpu.adapter.backend,
    deno: Deno.version.deno,
    rows,
    networks,
    peers: peers?.rows,
  };
  const json = values.json ?? `${root}.cache/bench/latest.json`;
  await Deno.writeTextFile(json, JSON.stringify(result, null, 2) + "\n");
  console.log(`json: ${json}`);
}

if (import.meta.main) await main();
