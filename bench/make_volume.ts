/**
 * Writes a synthetic fragment as a Zarr v3 group (`surface`, `mask`,
 * `inklabels`) band by band, for benchmarks that need a big input on disk.
 *
 * Usage: deno run -A bench/make_volume.ts OUT.zarr --height H --width W [--depth D] [--chunk C]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { syntheticFragment } from "../data/synthetic.ts";
import { createZarrV3 } from "../data/zarr.ts";

/** Generates the volume at `path` unless it is already there. */
export async function makeVolume(
  path: string,
  o: { height: number; width: number; depth: number; chunk: number; seed?: number },
): Promise<void> {
  try {
    await Deno.stat(`${path}/surface/zarr.json`);
    return; // already generated
  } catch { /* generate below */ }
  const tmp = `${path}.partial-${Deno.pid}`;
  await Deno.mkdir(tmp, { recursive: true });
  await Deno.writeTextFile(
    `${tmp}/zarr.json`,
    JSON.stringify({ zarr_format: 3, node_type: "group", attributes: {} }),
  );
  const frag = syntheticFragment({
    height: o.height,
    width: o.width,
    depth: o.depth,
    seed: o.seed ?? 1,
  });
  const surface = await createZarrV3(`${tmp}/surface`, {
    shape: [o.depth, o.height, o.width],
    dtype: "uint16",
    chunks: [o.depth, o.chunk, o.chunk],
  });
  const mask = await createZarrV3(`${tmp}/mask`, {
    shape: [o.height, o.width],
    dtype: "uint8",
    chunks: [o.chunk, o.chunk],
  });
  for (let y = 0; y < o.height; y += o.chunk) {
    const rows = Math.min(o.chunk, o.height - y);
    await surface.writeRegion(
      [0, y, 0],
      [o.depth, rows, o.width],
      frag.volume.readRegionSync(y, y + rows, 0, o.width),
    );
    await mask.writeRegion([y, 0], [rows, o.width], frag.readMaskRegion(y, y + rows, 0, o.width));
  }
  await surface.close();
  await mask.close();
  await Deno.rename(tmp, path);
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: {
      height: { type: "string", default: "8192" },
      width: { type: "string", default: "8192" },
      depth: { type: "string", default: "16" },
      chunk: { type: "string", default: "256" },
    },
  });
  if (positionals.length !== 1) {
    console.error(
      "usage: make_volume.ts OUT.zarr [--height H] [--width W] [--depth D] [--chunk C]",
    );
    Deno.exit(2);
  }
  await makeVolume(positionals[0], {
    height: Number(values.height),
    width: Number(values.width),
    depth: Number(values.depth),
    chunk: Number(values.chunk),
  });
}
