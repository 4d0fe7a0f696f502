/**
 * `write_png`: writes a 2D image as an 8- or 16-bit greyscale PNG.
 *
 * @module
 */

import * as v from "valibot";
import { PngWriter } from "../data/png.ts";
import { imageBands } from "./images.ts";
import type { Image2D, ImagePort, Stage } from "./types.ts";

const params = v.object({
  path: v.optional(
    v.pipe(v.string(), v.minLength(1), v.description("Output file, relative to the run folder")),
    "image.png",
  ),
  bit_depth: v.optional(v.pipe(v.picklist([8, 16]), v.description("Bits per pixel")), 8),
  scale: v.optional(
    v.pipe(
      v.picklist(["unit", "minmax", "none"]),
      v.description(
        "unit: [0, 1] to the full range; minmax: the image's own range; none: values as they are",
      ),
    ),
    "unit",
  ),
});

/** Parameters of `write_png`. */
export type WritePngParams = v.InferOutput<typeof params>;

/** The `write_png` stage. */
export const writePng: Stage<WritePngParams> = {
  name: "write_png",
  version: "1",
  description: "Write a 2D image as an 8- or 16-bit greyscale PNG",
  params,
  outputParams: ["path"],
  inputs: { image: { kind: "image", shape: "(H, W)", description: "The image to write" } },
  outputs: { files: { kind: "files", description: "The PNG written" } },
  async run(ctx, inputs, p) {
    const image = inputs.image as ImagePort;
    const { height, width } = image;
    let range: [number, number] = [0, 1];
    if (p.scale === "minmax") {
      let [lo, hi] = [Infinity, -Infinity];
      for await (const { data } of imageBands(image)) [lo, hi] = extent(data, lo, hi);
      range = hi > lo ? [lo, hi] : [lo, lo + 1];
    }
    await ctx.writeOutput(p.path, async (tmp) => {
      const png = await PngWriter.create(tmp, { height, width, bitDepth: p.bit_depth });
      try {
        for await (const { data } of imageBands(image)) {
          await png.writeRows(
            quantize({ height: data.length / width, width, data }, p.bit_depth, p.scale, range),
          );
        }
      } finally {
        await png.close().catch(() => {});
      }
    });
    return { files: { kind: "files", files: [p.path] } };
  },
};

/** Smallest and largest value of `data` and the given bounds (NaN ignored). */
function extent(data: ArrayLike<number>, lo: number, hi: number): [number, number] {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/**
 * Maps image values to integers of `bits` bits (rounding, clipping, NaN as
 * 0): `unit` maps [0, 1] to the full range, `minmax` maps `range` (by
 * default the image's own extent) to it, `none` keeps the values.
 */
export function quantize(
  image: Image2D,
  bits: 8 | 16,
  scale: "unit" | "minmax" | "none",
  range?: [number, number],
): Uint8Array | Uint16Array {
  const max = bits === 8 ? 255 : 65535;
  const src = image.data;
  let [lo, hi] = [0, 1];
  if (scale === "minmax") {
    [lo, hi] = range ?? extent(src, Infinity, -Infinity);
    if (!(hi > lo)) hi = lo + 1;
  }
  const out = bits === 8 ? new Uint8Array(src.length) : new Uint16Array(src.length);
  const k = scale === "none" ? 1 : max / (hi - lo);
  const off = scale === "none" ? 0 : lo;
  for (let i = 0; i < src.length; i++) {
    const y = Math.round((src[i] - off) * k);
    out[i] = y > max ? max : y > 0 ? y : 0;
  }
  return out;
}
