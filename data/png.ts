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

/** The shape of a PNG written row by row, see {@linkcode PngWriter}. */
export interface PngWriterOptions {
  height: number;
  width: number;
  /** 1: greyscale; 3: RGB (interleaved, r g b per pixel). */
  channels?: 1 | 3;
  /** 8 (default) or 16 bits per sample; 16-bit samples take a `Uint16Array`. */
  bitDepth?: 8 | 16;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(parts: Uint8Array[]): number {
  let c = 0xffffffff;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * Writes a PNG row by row with memory bounded by a band of rows, whatever
 * the image size: rows are zlib-compressed as a stream (filter 0) into IDAT
 * chunks. For the binary map and the preview of a scroll segment.
 *
 * @example
 * ```ts
 * import { PngWriter, readPng } from "./png.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * const png = await PngWriter.create(path, { height: 2, width: 3 });
 * await png.writeRows(new Uint8Array([0, 1, 2]));
 * await png.writeRows(new Uint8Array([3, 4, 5]));
 * await png.close();
 * console.assert((await readPng(path)).data.join() === "0,1,2,3,4,5");
 * ```
 */
export class PngWriter {
  readonly #file: Deno.FsFile;
  readonly #options: Required<PngWriterOptions>;
  readonly #input: WritableStreamDefaultWriter<BufferSource>;
  readonly #pumped: Promise<void>;
  #rows = 0;

  private constructor(file: Deno.FsFile, options: Required<PngWriterOptions>) {
    this.#file = file;
    this.#options = options;
    const zlib = new CompressionStream("deflate");
    this.#input = zlib.writable.getWriter();
    this.#pumped = this.#pump(zlib.readable);
  }

  /** Creates (or truncates) `path` and writes the PNG header. */
  static async create(path: string, options: PngWriterOptions): Promise<PngWriter> {
    const o = { channels: 1 as const, bitDepth: 8 as const, ...options };
    if (!(Number.isInteger(o.width) && o.width > 0 && Number.isInteger(o.height) && o.height > 0)) {
      throw new RangeError(`PngWriter: size ${o.width}x${o.height} must be positive`);
    }
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const writer = new PngWriter(file, o);
    const ihdr = new Uint8Array(13);
    const view = new DataView(ihdr.buffer);
    view.setUint32(0, o.width);
    view.setUint32(4, o.height);
    ihdr.set([o.bitDepth, o.channels === 3 ? 2 : 0, 0, 0, 0], 8);
    await writeAll(file, new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]));
    await writer.#chunk("IHDR", ihdr);
    return writer;
  }

  /** Appends whole rows: `width * channels` samples per row. */
  async writeRows(samples: Uint8Array | Uint16Array): Promise<void> {
    const { width, height, channels, bitDepth } = this.#options;
    const perRow = width * channels;
    const rows = samples.length / perRow;
    if (!Number.isInteger(rows) || this.#rows + rows > height) {
      throw new RangeError(
        `PngWriter.writeRows: ${samples.length} samples are not whole rows of ${perRow} within ${height} rows`,
      );
    }
    const bytesPerRow = perRow * (bitDepth / 8) + 1;
    const out = new Uint8Array(rows * bytesPerRow);
    for (let r = 0; r < rows; r++) {
      const row = samples.subarray(r * perRow, (r + 1) * perRow);
      const at = r * bytesPerRow + 1; // filter byte 0
      if (bitDepth === 8) out.set(row, at);
      else {for (let i = 0; i < perRow; i++) {
          out[at + 2 * i] = row[i] >> 8, out[at + 2 * i + 1] = row[i] & 0xff;
        }}
    }
    this.#rows += rows;
    await this.#input.write(out);
  }

  /** Ends the image (every row must have been written) and closes the file. */
  async close(): Promise<void> {
    try {
      if (this.#rows !== this.#options.height) {
        throw new RangeError(
          `PngWriter.close: ${this.#rows} of ${this.#options.height} rows written`,
        );
      }
      await this.#input.close();
      await this.#pumped;
      await this.#chunk("IEND", new Uint8Array(0));
    } finally {
      this.#file.close();
    }
  }

  async #pump(readable: ReadableStream<Uint8Array>): Promise<void> {
    const limit = 1 << 18;
    let pending: Uint8Array[] = [];
    let size = 0;
    const flush = async () => {
      if (size === 0) return;
      const data = new Uint8Array(size);
      let at = 0;
      for (const p of pending) data.set(p, at), at += p.length;
      pending = [];
      size = 0;
      await this.#chunk("IDAT", data);
    };
    for await (const part of readable) {
      pending.push(part);
      size += part.length;
      if (size >= limit) await flush();
    }
    await flush();
  }

  async #chunk(type: string, data: Uint8Array): Promise<void> {
    const head = new Uint8Array(8);
    const view = new DataView(head.buffer);
    view.setUint32(0, data.length);
    const name = new TextEncoder().encode(type);
    head.set(name, 4);
    const tail = new Uint8Array(4);
    new DataView(tail.buffer).setUint32(0, crc32([name, data]));
    await writeAll(this.#file, head);
    await writeAll(this.#file, data);
    await writeAll(this.#file, tail);
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await file.write(data.subarray(at));
}
