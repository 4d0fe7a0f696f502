/**
 * Rotation test-time augmentation, the seed's TTA (seed-spec 5, step 4), as
 * two stages around any per-tile model:
 *
 * - `tta_expand` (tiles -> tiles) turns each batch of n tiles into one batch
 *   of G * n tiles: the G variants `torch.rot90(x, k, dims=(H, W))` (k = 0..3
 *   for `rot90`, the seed's; also of the mirror image for `rot90_flip`),
 *   variant-major (variant g of tile b is item g * n + b, with tile b's
 *   origin). The tensor keeps G times the allocated batch, so shapes stay
 *   constant along a stream; in a partly filled batch (count n < B) the items
 *   from G * n on are unused, as in any partial batch. The stream records the
 *   variants in its `tta` field.
 * - `tta_merge` (maps -> maps) undoes each variant's transform and takes the
 *   mean over the G variants of every tile (the seed's mean of the 4 logit
 *   maps rotated back by -k), in one pass, yielding batches of n maps with
 *   the original origins.
 *
 * A network between them sees batches G times larger: one forward pass over
 * all variants instead of the seed's G passes, with the same result.
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import type { Gpu } from "../kernels/device.ts";
import { quarterTurns, recordTtaExpand, recordTtaMerge } from "../kernels/rot90/mod.ts";
import type { GpuBatch, MapStream, Stage, TileStream, TtaInfo } from "./types.ts";
import { makeBatch } from "./tile_crop.ts";

/** TTA modes of `tta_expand`. */
export type TtaMode = "rot90" | "rot90_flip" | "none";

/**
 * The variants of a mode, in batch order: `rot90` is k = 0, 1, 2, 3 (the
 * seed's); `rot90_flip` adds the same four turns of the mirror image;
 * `none` is the tile itself.
 *
 * @example
 * ```ts
 * import { ttaVariants } from "./tta.ts";
 * console.assert(ttaVariants("rot90_flip").length === 8);
 * ```
 */
export function ttaVariants(mode: TtaMode): TtaInfo["variants"] {
  const turns = (flip: boolean) => [0, 1, 2, 3].map((k) => ({ k, flip }));
  if (mode === "none") return [{ k: 0, flip: false }];
  return mode === "rot90" ? turns(false) : [...turns(false), ...turns(true)];
}

const expandParams = v.object({
  mode: v.optional(
    v.pipe(
      v.picklist(["rot90", "rot90_flip", "none"]),
      v.description(
        "rot90: the 4 quarter turns (the seed's); rot90_flip: also those of the mirror image (8); none: no TTA",
      ),
    ),
    "rot90",
  ),
});

/** The `tta_expand` stage. */
export const ttaExpand: Stage<v.InferOutput<typeof expandParams>> = {
  name: "tta_expand",
  version: "1",
  description:
    "Test-time augmentation: each batch of tiles becomes one batch of their G rotated (and mirrored) variants, for tta_merge",
  params: expandParams,
  inputs: {
    tiles: { kind: "tiles", dtype: "f32", shape: "(B, C, D, T, T)", description: "Tile batches" },
  },
  outputs: {
    tiles: {
      kind: "tiles",
      dtype: "f32",
      shape: "(G * B, C, D, T, T)",
      description: "The G variants of every tile, variant-major (variant g of tile b at g * n + b)",
    },
  },
  run(ctx, inputs, p) {
    const tiles = inputs.tiles as TileStream;
    if (tiles.tta) {
      // Rejected, not thrown: the engine prefixes the node id to a rejected run().
      return Promise.reject(
        new UserError(
          `the tiles already carry ${tiles.tta.variants.length} test-time augmentation variants from another tta_expand node`,
        ),
      );
    }
    const variants = ttaVariants(p.mode);
    const tta = { variants };
    if (p.mode === "none") return Promise.resolve({ tiles: { ...tiles, tta } });
    const out: TileStream = {
      ...tiles,
      total: tiles.total * variants.length,
      tta,
      batches: expand(ctx.gpu, tiles.batches, variants),
    };
    return Promise.resolve({ tiles: out });
  },
};

/** The `tta_merge` stage. */
export const ttaMerge: Stage<Record<string, never>> = {
  name: "tta_merge",
  version: "1",
  description:
    "Undo tta_expand's transforms on the model's maps and average the variants of every tile (the seed's mean of logits)",
  params: v.object({}),
  inputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(G * B, C, T, T)",
      description: "Maps of the variants, from a stream that passed through tta_expand",
    },
  },
  outputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(B, C, T, T)",
      description: "The mean over variants of every tile's map, in the tile's own orientation",
    },
  },
  run(ctx, inputs) {
    const maps = inputs.maps as MapStream;
    if (!maps.tta) {
      return Promise.reject(
        new UserError(
          "the maps carry no test-time augmentation variants: tta_merge must follow a tta_expand node through stages that pass them on",
        ),
      );
    }
    const { variants } = maps.tta;
    const identity = variants.length === 1 && quarterTurns(variants[0].k) === 0 &&
      !variants[0].flip;
    if (identity) return Promise.resolve({ maps: { ...maps, tta: undefined } });
    const out: MapStream = {
      ...maps,
      total: maps.total / variants.length,
      tta: undefined,
      batches: merge(ctx.gpu, maps.batches, variants),
    };
    return Promise.resolve({ maps: out });
  },
};

async function* expand(
  getGpu: () => Promise<Gpu>,
  batches: AsyncIterable<GpuBatch>,
  variants: TtaInfo["variants"],
): AsyncGenerator<GpuBatch> {
  const gpu = await getGpu();
  const g = variants.length;
  for await (const b of batches) {
    const rec = gpu.kernels.recorder("tta_expand");
    const y = recordTtaExpand(gpu, rec, b.tensor, variants, b.count);
    rec.submit();
    b.release();
    const tileOrigins = b.origins.subarray(0, 2 * b.count);
    const origins = new Int32Array(g * tileOrigins.length);
    for (let i = 0; i < g; i++) origins.set(tileOrigins, i * tileOrigins.length);
    yield makeBatch(y, origins, g * b.count);
  }
}

async function* merge(
  getGpu: () => Promise<Gpu>,
  batches: AsyncIterable<GpuBatch>,
  variants: TtaInfo["variants"],
): AsyncGenerator<GpuBatch> {
  const gpu = await getGpu();
  const g = variants.length;
  for await (const b of batches) {
    const problem = layoutProblem(b, g);
    if (problem) {
      b.release();
      throw new UserError(
        `${problem}: the stages between tta_expand and tta_merge must keep every batch's items in order`,
      );
    }
    const n = b.count / g;
    const rec = gpu.kernels.recorder("tta_merge");
    const y = recordTtaMerge(gpu, rec, b.tensor, variants, n);
    rec.submit();
    b.release();
    yield makeBatch(y, b.origins.slice(0, 2 * n), n);
  }
}

/** Why a batch is not G variants of n tiles laid out variant-major, or undefined. */
function layoutProblem(b: GpuBatch, g: number): string | undefined {
  if (b.count % g !== 0 || b.tensor.shape[0] % g !== 0) {
    return `a batch of ${b.count} valid items in ${b.tensor} is not ${g} variants of each tile`;
  }
  const n = b.count / g;
  for (let i = n; i < b.count; i++) {
    const [y, x] = [b.origins[2 * i], b.origins[2 * i + 1]];
    const [ty, tx] = [b.origins[2 * (i % n)], b.origins[2 * (i % n) + 1]];
    if (y !== ty || x !== tx) {
      return `item ${i} of a batch sits at (${y}, ${x}) but its tile ${i % n} at (${ty}, ${tx})`;
    }
  }
  return undefined;
}
