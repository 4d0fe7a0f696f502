/**
 * `flatten_depth`: reduces each tile over depth on the GPU, by max (the
 * seed's `tensor.max(dim=2)`) or mean: (B, C, D, T, T) -> (B, C, T, T).
 *
 * @module
 */

import * as v from "valibot";
import { recordFlattenDepth } from "../kernels/flatten_depth/mod.ts";
import type { Gpu } from "../kernels/device.ts";
import type { GpuBatch, MapStream, Stage, TileStream } from "./types.ts";
import { makeBatch } from "./tile_crop.ts";

const params = v.object({
  reduce: v.optional(
    v.pipe(v.picklist(["max", "mean"]), v.description("Reduction over depth; max is the seed's")),
    "max",
  ),
});

/** The `flatten_depth` stage. */
export const flattenDepth: Stage<v.InferOutput<typeof params>> = {
  name: "flatten_depth",
  version: "1",
  description: "Reduce tile batches over depth (max or mean) on the GPU",
  params,
  inputs: {
    tiles: { kind: "tiles", dtype: "f32", shape: "(B, C, D, T, T)", description: "Tile batches" },
  },
  outputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(B, C, T, T)",
      description: "Depth-reduced tile maps",
    },
  },
  run(ctx, inputs, p) {
    const tiles = inputs.tiles as TileStream;
    const out: MapStream = {
      kind: "maps",
      grid: tiles.grid,
      channels: tiles.channels,
      total: tiles.total,
      mask: tiles.mask,
      labels: tiles.labels,
      tta: tiles.tta,
      resume: tiles.resume,
      batches: reduce(ctx.gpu, tiles.batches, p.reduce),
    };
    return Promise.resolve({ maps: out });
  },
};

async function* reduce(
  getGpu: () => Promise<Gpu>,
  batches: AsyncIterable<GpuBatch>,
  how: "max" | "mean",
): AsyncGenerator<GpuBatch> {
  const gpu = await getGpu();
  for await (const b of batches) {
    const rec = gpu.kernels.recorder("flatten_depth");
    const y = recordFlattenDepth(gpu, rec, b.tensor, how);
    rec.submit();
    b.release();
    yield makeBatch(y, b.origins, b.count);
  }
}
