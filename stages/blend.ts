/**
 * `blend`: accumulates per-tile maps into a whole-fragment map on the GPU,
 * exactly like the seed: uniform weights, sum and count maps, crop to the
 * original size, never-covered pixels 0. The result is read back once.
 *
 * @module
 */

import * as v from "valibot";
import { recordBlendFinalize, recordBlendTile } from "../kernels/blend/mod.ts";
import { downloadTensor, emptyTensor } from "../kernels/tensor.ts";
import { UserError } from "../data/errors.ts";
import type { ImagePort, MapStream, Stage } from "./types.ts";

const params = v.object({
  channel: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Which channel of the maps to output"),
    ),
    0,
  ),
});

/** The `blend` stage. */
export const blend: Stage<v.InferOutput<typeof params>> = {
  name: "blend",
  version: "1",
  description: "Blend overlapping tile maps into one fragment map (uniform weights, as the seed)",
  params,
  inputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(B, C, T, T)",
      description: "Tile maps with origins",
    },
  },
  outputs: {
    image: {
      kind: "image",
      dtype: "f32",
      shape: "(H, W)",
      description: "Mean of the maps covering each pixel; 0 where none",
    },
  },
  async run(ctx, inputs, p) {
    const maps = inputs.maps as MapStream;
    if (p.channel >= maps.channels) {
      throw new UserError(
        `parameter "channel" must be below the maps' ${maps.channels} channels, got ${p.channel}`,
      );
    }
    const gpu = await ctx.gpu();
    const { height, width } = maps.grid;
    const acc = {
      sum: emptyTensor(gpu, [1, maps.channels, height, width], "f32", "blend/sum"),
      count: emptyTensor(gpu, [height, width], "f32", "blend/count"),
    };
    try {
      gpu.kernels.recorder("blend/clear").clear(acc.sum.buffer).clear(acc.count.buffer).submit();
      ctx.progress.start(maps.total, "tiles");
      for await (const b of maps.batches) {
        const rec = gpu.kernels.recorder("blend");
        for (let i = 0; i < b.count; i++) {
          recordBlendTile(gpu, rec, acc, b.tensor, i, [b.origins[2 * i], b.origins[2 * i + 1]]);
        }
        rec.submit();
        b.release();
        ctx.progress.tick(b.count);
      }
      const rec = gpu.kernels.recorder("blend/finalize");
      recordBlendFinalize(gpu, rec, acc);
      rec.submit();
      const all = await downloadTensor(acc.sum) as Float32Array;
      const plane = height * width;
      const image: ImagePort = {
        kind: "image",
        image: { height, width, data: all.slice(p.channel * plane, (p.channel + 1) * plane) },
        mask: maps.mask,
        labels: maps.labels,
      };
      ctx.progress.done();
      return { image };
    } finally {
      acc.sum.release();
      acc.count.release();
    }
  },
};
