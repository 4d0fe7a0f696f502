/**
 * `read_volume`: opens a fragment (a Kaggle folder of 16-bit TIFF layers or
 * a Zarr v2/v3 array or group) through a depth window. Nothing is read until
 * a downstream stage asks for rows; the mask and labels come along when the
 * input has them.
 *
 * @module
 */

import * as v from "valibot";
import { cropRows, rowsParam } from "./crop.ts";
import { UserError } from "../data/errors.ts";
import { openMaskAndLabels, openVolume } from "../data/volume.ts";
import { memoryImage } from "./images.ts";
import type { PortValue, Stage } from "./types.ts";

const params = v.object({
  path: v.pipe(
    v.string(),
    v.minLength(1),
    v.description("Kaggle fragment folder (surface_volume/NN.tif) or Zarr array/group"),
  ),
  array: v.optional(
    v.pipe(
      v.string(),
      v.description("Array inside a Zarr group (default: surface, or the group's only 3D array)"),
    ),
  ),
  start: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("First layer of the depth window"),
    ),
    0,
  ),
  count: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Layers in the window; 0 means to the last layer"),
    ),
    0,
  ),
  reverse: v.optional(v.pipe(v.boolean(), v.description("Read the window bottom-up")), false),
  normalize: v.optional(
    v.pipe(
      v.picklist(["seed", "u16", "u8", "none"]),
      v.description(
        "seed: (v >> 8) / 255 as the 1st place; u16: v / 65535; u8: v / 255; none: raw values",
      ),
    ),
    "seed",
  ),
  rows: rowsParam,
});

/** Parameters of `read_volume`. */
export type ReadVolumeParams = v.InferOutput<typeof params>;

/** The `read_volume` stage. */
export const readVolume: Stage<ReadVolumeParams> = {
  name: "read_volume",
  version: "1",
  description:
    "Open a Kaggle fragment folder or a Zarr volume through a depth window (read lazily)",
  params,
  pathParams: ["path"],
  inputs: {},
  outputs: {
    volume: {
      kind: "volume",
      shape: "(D, H, W)",
      description: "The windowed volume, read by row bands on demand",
    },
    mask: {
      kind: "image",
      dtype: "u8",
      shape: "(H, W)",
      range: [0, 255],
      description: "Papyrus mask (255 = papyrus), when the input has one",
      optional: true,
    },
    labels: {
      kind: "image",
      dtype: "u8",
      shape: "(H, W)",
      range: [0, 255],
      description: "Ink labels (255 = ink), when the input has them",
      optional: true,
    },
  },
  async run(ctx, _inputs, p) {
    const window = { start: p.start, count: p.count || undefined, reverse: p.reverse };
    const source = await openVolume(p.path, { window, array: p.array });
    const { mask, labels } = await openMaskAndLabels(p.path);
    const [, height, width] = source.shape;
    for (const [name, img] of [["mask", mask], ["labels", labels]] as const) {
      if (img && (img.height !== height || img.width !== width)) {
        throw new UserError(
          `the ${name} of "${p.path}" is ${img.width}x${img.height} but the volume is ${width}x${height}`,
        );
      }
    }
    ctx.debug(
      1,
      `${source.format} ${source.shape.join("x")} ${source.dtype}, layers ${
        source.layers.join(",")
      }`,
    );
    const volume = cropRows({
      kind: "volume",
      source,
      normalize: source.dtype === "uint8" && p.normalize === "seed" ? "u8" : p.normalize,
      mask,
      labels,
    }, p.rows as [number, number] | undefined);
    const out: Record<string, PortValue> = { volume };
    const [m, l] = [volume.mask, volume.labels];
    if (m) out.mask = memoryImage(m, { mask: m, labels: l });
    if (l) out.labels = memoryImage(l, { mask: m, labels: l });
    return out;
  },
};
