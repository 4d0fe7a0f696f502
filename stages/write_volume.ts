/**
 * `write_volume`: writes a volume (and its mask and labels) as a Zarr v3
 * group laid out like the project's inputs: `surface` (D, H, W), `mask` and
 * `inklabels` (H, W). Written band by band, so memory stays bounded; the
 * group appears under its final name only once complete.
 *
 * @module
 */

import * as v from "valibot";
import { createZarrV3 } from "../data/zarr.ts";
import type { Image2D, Stage, VolumePort } from "./types.ts";

const params = v.object({
  path: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.description("Output Zarr group, relative to the run folder"),
    ),
    "volume.zarr",
  ),
  chunk: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(16),
      v.description("Chunk height and width; chunks hold every layer"),
    ),
    256,
  ),
  compressor: v.optional(
    v.pipe(v.picklist(["blosc-zstd", "zstd", "none"]), v.description("Chunk compression")),
    "blosc-zstd",
  ),
});

/** Parameters of `write_volume`. */
export type WriteVolumeParams = v.InferOutput<typeof params>;

/** The `write_volume` stage. */
export const writeVolume: Stage<WriteVolumeParams> = {
  name: "write_volume",
  version: "1",
  description: "Write a volume with its mask and labels as a Zarr v3 group (band by band)",
  params,
  outputParams: ["path"],
  inputs: { volume: { kind: "volume", description: "The volume to write" } },
  outputs: { files: { kind: "files", description: "The Zarr group written" } },
  async run(ctx, inputs, p) {
    const vol = inputs.volume as VolumePort;
    const src = vol.source;
    const [depth, height, width] = src.shape;
    await ctx.writeOutput(p.path, async (tmp) => {
      await Deno.mkdir(tmp, { recursive: true });
      await Deno.writeTextFile(
        `${tmp}/zarr.json`,
        JSON.stringify({
          zarr_format: 3,
          node_type: "group",
          attributes: { source: src.path, layers: src.layers },
        }),
      );
      const surface = await createZarrV3(`${tmp}/surface`, {
        shape: [depth, height, width],
        dtype: src.dtype,
        chunks: [depth, p.chunk, p.chunk],
        compressor: p.compressor,
      });
      ctx.progress.start(height, "rows");
      for (let y = 0; y < height; y += p.chunk) {
        const rows = Math.min(p.chunk, height - y);
        await surface.writeRegion(
          [0, y, 0],
          [depth, rows, width],
          await src.readRegion(y, y + rows, 0, width),
        );
        ctx.progress.tick(rows);
      }
      await surface.close();
      for (const [name, img] of [["mask", vol.mask], ["inklabels", vol.labels]] as const) {
        if (img) await write2d(`${tmp}/${name}`, img, p.chunk, p.compressor);
      }
      ctx.progress.done();
    });
    return { files: { kind: "files", files: [p.path] } };
  },
};

async function write2d(
  path: string,
  img: Image2D,
  chunk: number,
  compressor: WriteVolumeParams["compressor"],
) {
  const dtype = img.data instanceof Uint8Array
    ? "uint8"
    : img.data instanceof Uint16Array
    ? "uint16"
    : "float32";
  const w = await createZarrV3(path, {
    shape: [img.height, img.width],
    dtype,
    chunks: [chunk, chunk],
    compressor,
  });
  await w.writeRegion([0, 0], [img.height, img.width], img.data);
  await w.close();
}
