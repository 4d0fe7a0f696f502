/**
 * `write_png`: writes a 2D image as an 8- or 16-bit greyscale PNG.
 *
 * @module
 */

import * as v from "valibot";
import { writePng as writePngFile } from "../data/png.ts";
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
    const { image } = inputs.image as ImagePort;
    const data = quantize(image, p.bit_depth, p.scale);
    await ctx.writeOutput(
      p.path,
      (tmp) => writePngFile(tmp, { ...image, data }, { bitDepth: p.bit_depth }),
    );
    return { files: { kind: "files", files: [p.path] } };
  },
};

/** Maps image values to integers of `bits` bits (rounding, clipping, NaN as 0). */
export function quantize(
  image: Image2D,
  bits: 8 | 16,
  scale: "unit" | "minmax" | "none",
): Uint8Array | Uint16Array {
  const max = bits === 8 ? 255 : 65535;
  const src = image.data;
  let lo = 0;
  let hi = 1;
  if (scale === "minmax") {
    lo = Infinity;
    hi = -Infinity;
    for (const x of src) {
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
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
