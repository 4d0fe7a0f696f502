/**
 * `synthetic_fragment`: the project's embedded default input, a procedural
 * papyrus-like volume with ink written into some layers, its mask and its
 * labels. Any size, generated row band by row band as it is read.
 *
 * @module
 */

import * as v from "valibot";
import { cropRows, rowsParam } from "./crop.ts";
import { syntheticFragment as generate } from "../data/synthetic.ts";
import { lazyImage } from "../data/image.ts";
import { memoryImage } from "./images.ts";
import type { Stage } from "./types.ts";

const int = (min: number, max: number, description: string) =>
  v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max), v.description(description));

const params = v.object({
  height: v.optional(int(16, 1 << 22, "Rows of every layer"), 512),
  width: v.optional(int(16, 1 << 22, "Columns of every layer"), 512),
  depth: v.optional(int(1, 4096, "Number of layers"), 16),
  seed: v.optional(int(0, 2 ** 31 - 1, "Generator seed: the same seed gives the same fragment"), 1),
  dtype: v.optional(v.pipe(v.picklist(["uint16", "uint8"]), v.description("Voxel type")), "uint16"),
  ink_contrast: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0),
      v.maxValue(1),
      v.description("Brightness the ink adds, as a fraction of the papyrus span"),
    ),
    0.08,
  ),
  normalize: v.optional(
    v.pipe(
      v.picklist(["seed", "u16", "u8", "none"]),
      v.description("Voxel normalisation applied when tiles are cropped"),
    ),
    "seed",
  ),
  rows: rowsParam,
});

/** The `synthetic_fragment` stage. */
export const syntheticFragment: Stage<v.InferOutput<typeof params>> = {
  name: "synthetic_fragment",
  version: "1",
  description: "Generate a papyrus-like fragment with ink strokes (the embedded default input)",
  params,
  inputs: {},
  outputs: {
    volume: {
      kind: "volume",
      shape: "(D, H, W)",
      description: "The generated volume, read lazily",
    },
    mask: {
      kind: "image",
      dtype: "u8",
      shape: "(H, W)",
      range: [0, 255],
      description: "Papyrus mask (255 = papyrus)",
    },
    labels: {
      kind: "image",
      dtype: "u8",
      shape: "(H, W)",
      range: [0, 255],
      description: "Ink labels (255 = ink)",
    },
  },
  run(_ctx, _inputs, p) {
    const frag = generate({
      height: p.height,
      width: p.width,
      depth: p.depth,
      seed: p.seed,
      dtype: p.dtype,
      inkContrast: p.ink_contrast,
    });
    const volume = cropRows({
      kind: "volume",
      source: frag.volume,
      normalize: p.dtype === "uint8" && p.normalize === "seed" ? "u8" : p.normalize,
      // Read by row bands as they are needed: a scroll segment's mask and labels are never held whole.
      mask: lazyImage(p.height, p.width, (y0, y1) => frag.readMaskRegion(y0, y1, 0, p.width)),
      labels: lazyImage(p.height, p.width, (y0, y1) => frag.readLabelRegion(y0, y1, 0, p.width)),
    }, p.rows as [number, number] | undefined);
    const [mask, labels] = [volume.mask!, volume.labels!];
    return Promise.resolve({
      volume,
      mask: memoryImage(mask, { mask, labels }),
      labels: memoryImage(labels, { mask, labels }),
    });
  },
};
