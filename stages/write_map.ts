/**
 * `write_map`: writes a 2D image (a blended logit or probability map) as a
 * float32 Zarr v3 array, exactly, for later stages or other tools.
 *
 * @module
 */

import * as v from "valibot";
import { createZarrV3 } from "../data/zarr.ts";
import { imageBands } from "./images.ts";
import type { ImagePort, Stage } from "./types.ts";

const params = v.object({
  path: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.description("Output Zarr array, relative to the run folder"),
    ),
    "map.zarr",
  ),
  chunk: v.optional(
    v.pipe(v.number(), v.integer(), v.minValue(16), v.description("Chunk edge")),
    512,
  ),
});

/** The `write_map` stage. */
export const writeMap: Stage<v.InferOutput<typeof params>> = {
  name: "write_map",
  version: "1",
  description: "Write a 2D map as a float32 Zarr v3 array (exact values)",
  params,
  outputParams: ["path"],
  inputs: { image: { kind: "image", shape: "(H, W)", description: "The map to write" } },
  outputs: { files: { kind: "files", description: "The Zarr array written" } },
  async run(ctx, inputs, p) {
    const image = inputs.image as ImagePort;
    const { height, width } = image;
    await ctx.writeOutput(p.path, async (tmp) => {
      const w = await createZarrV3(tmp, {
        shape: [height, width],
        dtype: "float32",
        chunks: [p.chunk, p.chunk],
      });
      const rows = Math.ceil(image.bandRows / p.chunk) * p.chunk; // whole chunk rows per write
      for await (const { y0, data } of imageBands(image, rows)) {
        const values = data instanceof Float32Array ? data : Float32Array.from(data);
        await w.writeRegion([y0, 0], [data.length / width, width], values);
      }
      await w.close();
    });
    return { files: { kind: "files", files: [p.path] } };
  },
};
