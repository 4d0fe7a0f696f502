/**
 * Greyscale PNG reading and writing (masks, ink labels, prediction maps).
 *
 * @module
 */

import { decode, encode, hasPngSignature } from "fast-png";
import { fsReason, q, UserError } from "./errors.ts";
import type { Image2D } from "./image.ts";

/**
 * Reads a PNG as a one-channel image of its stored values:
 * - 8-bit grey gives a `Uint8Array`, 16-bit grey a `Uint16Array`;
 * - grey below 8 bits gives its raw values (0..1, 0..3 or 0..15), not scaled;
 * - a palette PNG gives its palette indices (so the {0, 1} palette masks of
 *   the full-resolution Kaggle labels read as 0 and 1, not as colours);
 * - grey with alpha, RGB and RGBA give their first channel (grey or red);
 *   alpha is ignored.
 *
 * @throws {UserError} When the file is missing, not a PNG or corrupt.
 *
 * @example
 * ```ts
 * import { readPng, writePng } from "./png.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await writePng(path, { height: 1, width: 2, data: new Uint8Array([0, 255]) });
 * const image = await readPng(path);
 * console.assert(image.data[1] === 255);
 * ```
 */
export async function readPng(path: string): Promise<Image2D> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new UserError(`Cannot read ${q(path)}: ${fsReason(err)}`, {
      cause: err,
    });
  }
  if (!hasPngSignature(bytes)) {
    throw new UserError(`Cannot read ${q(path)}: not a PNG file`);
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (err) {
    throw new UserError(
      `Cannot read ${q(path)}: corrupt or truncated PNG (${(err as Error).message})`,
      { cause: err },
    );
  }
  const { width, height, depth, channels } = png;
  const size = width * height;
  if (depth < 8) {
    const data = new Uint8Array(size);
    const rowBytes = Math.ceil(width * depth / 8);
    const perByte = 8 / depth;
    const mask = (1 << depth) - 1;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const byte = png.data[y * rowBytes + Math.floor(x / perByte)];
        const shift = 8 - depth * (x % perByte + 1);
        data[y * width + x] = (byte >> shift) & mask;
      }
    }
    return { height, width, data };
  }
  const data = depth === 16 ? new Uint16Array(size) : new Uint8Array(size);
  if (channels === 1) data.set(png.data);
  else for (let i = 0; i < size; i++) data[i] = png.data[i * channels];
  return { height, width, data };
}

/** Options for {@linkcode writePng}. */
export interface WritePngOptions {
  /**
   * Bits per pixel; by default 8 for a `Uint8Array` and 16 otherwise. Every
   * value must be a whole number that fits.
   */
  bitDepth?: 8 | 16;
}

/**
 * Writes a one-channel image as an 8- or 16-bit greyscale PNG. Reading it
 * back with {@linkcode readPng} gives the same values.
 *
 * @throws {RangeError} When a value is not a whole number in range of the
 * bit depth, or the data does not match the size.
 *
 * @example
 * ```ts
 * import { writePng } from "./png.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * const data = new Uint16Array([0, 1000, 65535, 7]);
 * await writePng(path, { height: 2, width: 2, data }, { bitDepth: 16 });
 * ```
 */
export async function writePng(
  path: string,
  image: Image2D,
  options: WritePngOptions = {},
): Promise<void> {
  const { height, width, data } = image;
  const depth = options.bitDepth ?? (data instanceof Uint8Array ? 8 : 16);
  if (data.length !== height * width) {
    throw new RangeError(
      `writePng: ${data.length} values for a ${height}x${width} image`,
    );
  }
  const max = depth === 8 ? 0xff : 0xffff;
  const bad = data.findIndex((v) => !(Number.isInteger(v) && v >= 0 && v <= max));
  if (bad >= 0) {
    throw new RangeError(
      `writePng: value ${data[bad]} at index ${bad} does not fit in ${depth} bits`,
    );
  }
  const pixels = depth === 8 ? Uint8Array.from(data) : Uint16Array.from(data);
  await Deno.writeFile(
    path,
    encode({ width, height, data: pixels, depth, channels: 1 }),
  );
}
