/**
 * A minimal greyscale TIFF reader that reads only the rows asked for, and an
 * uncompressed TIFF writer for tests.
 *
 * Reads the first image of a classic (not Big-) TIFF, little- or big-endian,
 * one 8- or 16-bit unsigned sample per pixel, in strips or tiles, either
 * uncompressed or compressed with LZW, deflate or PackBits, optionally with
 * the horizontal predictor. Uncompressed data is read byte-exactly: a band of
 * rows costs the bytes of those rows. Compressed data is decoded one strip or
 * tile at a time, and the strips of the last band are kept for the next one,
 * so memory stays bounded by the strips a band touches.
 *
 * @module
 */

import { inflateSync } from "node:zlib";
import { fsReason, q, UserError } from "./errors.ts";
import { checkRegion } from "./window.ts";

/** The sample arrays a TIFF image reads into. */
export type TiffSamples = Uint8Array | Uint16Array;

/** An open greyscale TIFF image. */
export interface TiffImage {
  /** The file, for messages. */
  readonly path: string;
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** 8 or 16. */
  readonly bitsPerSample: 8 | 16;
  /** Bytes read from the file so far, headers included (to check that reads stay partial). */
  readonly bytesRead: number;
  /**
   * Reads rows `[y0, y1)` and columns `[x0, x1)` into a new row-major array
   * (`Uint8Array` for 8-bit, `Uint16Array` for 16-bit images).
   *
   * @throws {RangeError} When the region is empty or not inside the image.
   * @throws {UserError} When the strips or tiles of the region are corrupt.
   */
  readRows(
    y0: number,
    y1: number,
    x0?: number,
    x1?: number,
  ): Promise<TiffSamples>;
  /** Closes the file. */
  close(): void;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  predictor: 317,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  sampleFormat: 339,
} as const;

/** Byte sizes of the IFD field types read here: BYTE, SHORT, LONG. */
const TYPE_SIZE: Record<number, number> = { 1: 1, 3: 2, 4: 4 };

/** Decoders by compression code; each gets the stored bytes and the decoded size. */
const DECODERS: Record<number, (data: Uint8Array, size: number) => Uint8Array> = {
  1: (data) => data,
  5: lzwDecode,
  8: (data) => inflateSync(data),
  32946: (data) => inflateSync(data),
  32773: packBitsDecode,
};

const SAMPLE_FORMATS: Record<number, string> = {
  2: "signed integer",
  3: "floating-point",
};

/**
 * Opens a greyscale TIFF and parses its first image's header; pixel data is
 * read later, by {@linkcode TiffImage.readRows}.
 *
 * @throws {UserError} When the file is missing, not a TIFF, truncated, or in
 * a layout this reader does not support (RGB, 32-bit, BigTIFF, JPEG, ...).
 *
 * @example
 * ```ts
 * import { openTiff, writeTiff } from "./tiff.ts";
 * const path = await Deno.makeTempFile({ suffix: ".tif" });
 * await writeTiff(path, 3, 2, new Uint16Array([1, 2, 3, 4, 5, 6]));
 * const tiff = await openTiff(path);
 * const row = await tiff.readRows(1, 2, 1, 3); // Uint16Array [5, 6]
 * tiff.close();
 * console.assert(row.join() === "5,6");
 * ```
 */
export async function openTiff(path: string): Promise<TiffImage> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (err) {
    throw new UserError(`Cannot read ${q(path)}: ${fsReason(err)}`, {
      cause: err,
    });
  }
  try {
    return await parseTiff(file, path);
  } catch (err) {
    file.close();
    throw err;
  }
}

/** Reads byte ranges of a file, one at a time (seek + read share a position). */
class RangeReader {
  bytesRead = 0;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: Deno.FsFile,
    readonly size: number,
    readonly truncated: () => UserError,
  ) {}

  read(position: number, length: number): Promise<Uint8Array> {
    if (position + length > this.size) return Promise.reject(this.truncated());
    const run = this.#queue.then(async () => {
      const bytes = new Uint8Array(length);
      await this.file.seek(position, Deno.SeekMode.Start);
      for (let n = 0; n < length;) {
        const got = await this.file.read(bytes.subarray(n));
        if (got === null) throw this.truncated();
        n += got;
      }
      this.bytesRead += length;
      return bytes;
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

async function parseTiff(file: Deno.FsFile, path: string): Promise<TiffImage> {
  const fail = (why: string) => new UserError(`Cannot read ${q(path)}: ${why}`);
  const { size } = await file.stat();
  const io = new RangeReader(
    file,
    size,
    () => fail(`file is truncated (${size} bytes)`),
  );
  if (size < 8) throw fail("not a TIFF file");
  const head = await io.read(0, 8);
  const order = String.fromCharCode(head[0], head[1]);
  const le = order === "II";
  const magic = view(head).getUint16(2, le);
  if ((order !== "II" && order !== "MM") || (magic !== 42 && magic !== 43)) {
    throw fail("not a TIFF file");
  }
  if (magic === 43) throw fail("BigTIFF is not supported");

  const ifdAt = view(head).getUint32(4, le);
  const count = view(await io.read(ifdAt, 2)).getUint16(0, le);
  const entries = view(await io.read(ifdAt + 2, count * 12));
  const wanted = new Set<number>(Object.values(TAG));
  const tags = new Map<number, number[]>();
  for (let at = 0; at < count * 12; at += 12) {
    const tag = entries.getUint16(at, le);
    const typeSize = TYPE_SIZE[entries.getUint16(at + 2, le)];
    if (!wanted.has(tag) || !typeSize) continue;
    const n = entries.getUint32(at + 4, le);
    const values = view(
      n * typeSize <= 4
        ? new Uint8Array(entries.buffer, entries.byteOffset + at + 8, 4)
        : await io.read(entries.getUint32(at + 8, le), n * typeSize),
    );
    const value = [
      (i: number) => values.getUint8(i),
      (i: number) => values.getUint16(2 * i, le),
      (i: number) => values.getUint32(4 * i, le),
    ][typeSize >> 1];
    tags.set(tag, Array.from({ length: n }, (_, i) => value(i)));
  }

  const one = (tag: number, fallback = 0) => tags.get(tag)?.[0] ?? fallback;
  const width = one(TAG.width);
  const height = one(TAG.height);
  if (!width || !height) {
    throw fail("not a valid TIFF (no image width or height)");
  }
  const samplesPerPixel = one(TAG.samplesPerPixel, 1);
  if (samplesPerPixel !== 1) {
    throw fail(
      `${samplesPerPixel} samples per pixel (RGB or similar) is not supported, only greyscale`,
    );
  }
  const bits = one(TAG.bitsPerSample, 1);
  if (bits !== 8 && bits !== 16) {
    throw fail(`${bits}-bit samples are not supported, only 8- and 16-bit`);
  }
  const sampleFormat = one(TAG.sampleFormat, 1);
  if (sampleFormat !== 1) {
    const name = SAMPLE_FORMATS[sampleFormat] ?? `format ${sampleFormat}`;
    throw fail(`${name} samples are not supported, only unsigned integers`);
  }
  const compression = one(TAG.compression, 1);
  if (!DECODERS[compression]) {
    throw fail(
      `compression ${compression} is not supported, only none, LZW, deflate and PackBits`,
    );
  }
  const predictor = one(TAG.predictor, 1);
  if (predictor !== 1 && predictor !== 2) {
    throw fail(
      `predictor ${predictor} is not supported, only none and horizontal`,
    );
  }

  const tiled = tags.has(TAG.tileWidth);
  const segWidth = tiled ? one(TAG.tileWidth) : width;
  const segHeight = tiled ? one(TAG.tileLength) : Math.min(one(TAG.rowsPerStrip, height), height);
  if (!segWidth || !segHeight) throw fail("not a valid TIFF (no tile size)");
  const across = Math.ceil(width / segWidth);
  const segments = across * Math.ceil(height / segHeight);
  const offsets = tags.get(tiled ? TAG.tileOffsets : TAG.stripOffsets) ?? [];
  const segRows = (i: number) =>
    tiled ? segHeight : Math.min(segHeight, height - Math.floor(i / across) * segHeight);
  const counts = tags.get(tiled ? TAG.tileByteCounts : TAG.stripByteCounts) ??
    (compression === 1 ? offsets.map((_, i) => segRows(i) * segWidth * bits / 8) : []);
  if (offsets.length < segments || counts.length < segments) {
    throw fail(
      `not a valid TIFF (${segments} ${tiled ? "tiles" : "strips"} but fewer offsets)`,
    );
  }
  const end = offsets.slice(0, segments)
    .reduce((max, offset, i) => Math.max(max, offset + counts[i]), 0);
  if (end > size) {
    throw fail(
      `file is truncated (the image data ends at byte ${end} but the file has ${size})`,
    );
  }
  return new Tiff(path, width, height, bits, io, {
    le,
    compression,
    predictor,
    kind: tiled ? "tile" : "strip",
    segWidth,
    segHeight,
    across,
    segRows,
    offsets,
    counts,
  });
}

interface Layout {
  le: boolean;
  compression: number;
  predictor: number;
  kind: "strip" | "tile";
  /** Width and height of a strip or tile, in pixels. */
  segWidth: number;
  segHeight: number;
  /** Segments per row of segments. */
  across: number;
  /** Rows stored in a segment (the last strip may be short). */
  segRows: (index: number) => number;
  offsets: number[];
  counts: number[];
}

class Tiff implements TiffImage {
  /** Decoded segments of the last read, by index. */
  #cache = new Map<number, TiffSamples>();

  constructor(
    readonly path: string,
    readonly width: number,
    readonly height: number,
    readonly bitsPerSample: 8 | 16,
    readonly io: RangeReader,
    readonly layout: Layout,
  ) {}

  get bytesRead(): number {
    return this.io.bytesRead;
  }

  async readRows(
    y0: number,
    y1: number,
    x0 = 0,
    x1 = this.width,
  ): Promise<TiffSamples> {
    checkRegion(y0, y1, x0, x1, this.height, this.width);
    const { segWidth, segHeight, across } = this.layout;
    const width = x1 - x0;
    const out = this.bitsPerSample === 8
      ? new Uint8Array((y1 - y0) * width)
      : new Uint16Array((y1 - y0) * width);
    const used = new Map<number, TiffSamples>();
    const parts: Promise<void>[] = [];
    for (let row = Math.floor(y0 / segHeight); row * segHeight < y1; row++) {
      for (let col = Math.floor(x0 / segWidth); col * segWidth < x1; col++) {
        const [sy, sx] = [row * segHeight, col * segWidth];
        const [ya, yb] = [Math.max(y0, sy), Math.min(y1, sy + segHeight)];
        const [xa, xb] = [Math.max(x0, sx), Math.min(x1, sx + segWidth)];
        const part = this.#segment(
          row * across + col,
          ya - sy,
          yb - ya,
          xa - sx,
          xb - xa,
          used,
        );
        parts.push(part.then(({ samples, base }) => {
          for (let y = ya; y < yb; y++) {
            const from = base + (y - ya) * segWidth;
            const to = (y - y0) * width + xa - x0;
            out.set(samples.subarray(from, from + xb - xa), to);
          }
        }));
      }
    }
    await Promise.all(parts);
    this.#cache = used;
    return out;
  }

  close(): void {
    this.io.file.close();
  }

  /**
   * Samples covering `rows` x `cols` of a segment from (`row`, `col`), with
   * the segment's row stride; the first one is at `base`.
   */
  async #segment(
    index: number,
    row: number,
    rows: number,
    col: number,
    cols: number,
    used: Map<number, TiffSamples>,
  ): Promise<{ samples: TiffSamples; base: number }> {
    const { compression, predictor, segWidth, offsets } = this.layout;
    const bytesPerSample = this.bitsPerSample / 8;
    if (compression === 1 && predictor === 1) {
      const first = row * segWidth + col;
      const length = (rows - 1) * segWidth + cols;
      const bytes = await this.io.read(
        offsets[index] + first * bytesPerSample,
        length * bytesPerSample,
      );
      return { samples: this.#samples(bytes), base: 0 };
    }
    const samples = this.#cache.get(index) ?? await this.#decode(index);
    used.set(index, samples);
    return { samples, base: row * segWidth + col };
  }

  async #decode(index: number): Promise<TiffSamples> {
    const { compression, predictor, kind, segWidth, segRows, offsets, counts } = this.layout;
    const rows = segRows(index);
    const size = rows * segWidth * this.bitsPerSample / 8;
    const stored = await this.io.read(offsets[index], counts[index]);
    const corrupt = (why: string) =>
      new UserError(
        `Cannot read ${q(this.path)}: ${kind} ${index} is corrupt (${why})`,
      );
    let bytes: Uint8Array;
    try {
      bytes = DECODERS[compression](stored, size);
    } catch (err) {
      throw corrupt(err instanceof Error ? err.message : String(err));
    }
    if (bytes.length < size) {
      throw corrupt(`${bytes.length} bytes instead of ${size}`);
    }
    const samples = this.#samples(bytes.subarray(0, size));
    if (predictor === 2) {
      for (let y = 0; y < rows; y++) {
        for (let i = y * segWidth + 1; i < (y + 1) * segWidth; i++) {
          samples[i] += samples[i - 1];
        }
      }
    }
    return samples;
  }

  /** File bytes as samples, without a copy when byte order and alignment allow. */
  #samples(bytes: Uint8Array): TiffSamples {
    if (this.bitsPerSample === 8) return bytes;
    const { le } = this.layout;
    if (le === HOST_LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
      return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
    }
    const data = view(bytes);
    return Uint16Array.from(
      { length: bytes.length / 2 },
      (_, i) => data.getUint16(2 * i, le),
    );
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes TIFF LZW (MSB-first codes, 9 to 12 bits, early code-width change). */
function lzwDecode(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  const prefix = new Int16Array(4096);
  const suffix = new Uint8Array(4096);
  const first = new Uint8Array(4096);
  const length = new Uint16Array(4096);
  for (let i = 0; i < 256; i++) [suffix[i], first[i], length[i]] = [i, i, 1];
  let [next, width, previous, bit, at] = [258, 9, -1, 0, 0];
  while (at < size && bit + width <= data.length * 8) {
    const byte = bit >> 3;
    const window = (data[byte] << 16) | ((data[byte + 1] ?? 0) << 8) |
      (data[byte + 2] ?? 0);
    const code = (window >> (24 - (bit & 7) - width)) & ((1 << width) - 1);
    bit += width;
    if (code === 257) break;
    if (code === 256) {
      [next, width, previous] = [258, 9, -1];
      continue;
    }
    if (code > next || (code === next && previous < 0)) {
      throw new Error(`invalid LZW code ${code}`);
    }
    if (previous >= 0 && next < 4096) {
      prefix[next] = previous;
      suffix[next] = code < next ? first[code] : first[previous];
      first[next] = first[previous];
      length[next] = length[previous] + 1;
      next++;
    }
    for (
      let c = code, i = at + length[code] - 1;
      c >= 0;
      c = c < 256 ? -1 : prefix[c], i--
    ) {
      if (i < size) out[i] = suffix[c];
    }
    at += length[code];
    previous = code;
    if (next >= (1 << width) - 1 && width < 12) width++;
  }
  return out.subarray(0, Math.min(at, size));
}

/** Decodes PackBits run-length data. */
function packBitsDecode(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (let i = 0; i < data.length && at < size;) {
    const n = (data[i++] << 24) >> 24;
    if (n >= 0) {
      out.set(data.subarray(i, i + n + 1).subarray(0, size - at), at);
      at += n + 1;
      i += n + 1;
    } else if (n !== -128) {
      out.fill(data[i++], at, Math.min(size, at + 1 - n));
      at += 1 - n;
    }
  }
  return out.subarray(0, Math.min(at, size));
}

/** Options for {@linkcode writeTiff}. */
export interface WriteTiffOptions {
  /** Rows per strip; the default is one strip for the whole image. */
  rowsPerStrip?: number;
}

/**
 * Writes an uncompressed little-endian greyscale TIFF (8-bit for a
 * `Uint8Array`, 16-bit for a `Uint16Array`), in one strip or several.
 *
 * @throws {RangeError} When `data` does not hold `width * height` samples.
 *
 * @example
 * ```ts
 * import { writeTiff } from "./tiff.ts";
 * const path = await Deno.makeTempFile({ suffix: ".tif" });
 * await writeTiff(path, 2, 2, new Uint8Array([0, 64, 128, 255]), { rowsPerStrip: 1 });
 * ```
 */
export async function writeTiff(
  path: string,
  width: number,
  height: number,
  data: Uint8Array | Uint16Array,
  options: WriteTiffOptions = {},
): Promise<void> {
  if (data.length !== width * height) {
    throw new RangeError(
      `writeTiff: ${data.length} samples for a ${width}x${height} image`,
    );
  }
  const bytesPerSample = data.BYTES_PER_ELEMENT;
  const rowsPerStrip = Math.min(options.rowsPerStrip ?? height, height);
  const strips = Math.ceil(height / rowsPerStrip);
  const stripBytes = (i: number) =>
    Math.min(rowsPerStrip, height - i * rowsPerStrip) * width * bytesPerSample;
  const entryCount = 9;
  const arraysAt = 8 + 2 + entryCount * 12 + 4;
  const dataAt = arraysAt + (strips > 1 ? 8 * strips : 0);
  const offsets = Array.from(
    { length: strips },
    (_, i) => dataAt + i * stripBytes(0),
  );
  const counts = Array.from({ length: strips }, (_, i) => stripBytes(i));
  const entries: [tag: number, type: 3 | 4, values: number[]][] = [
    [TAG.width, 4, [width]],
    [TAG.height, 4, [height]],
    [TAG.bitsPerSample, 3, [8 * bytesPerSample]],
    [TAG.compression, 3, [1]],
    [262, 3, [1]], // PhotometricInterpretation: BlackIsZero
    [TAG.stripOffsets, 4, offsets],
    [TAG.samplesPerPixel, 3, [1]],
    [TAG.rowsPerStrip, 4, [rowsPerStrip]],
    [TAG.stripByteCounts, 4, counts],
  ];
  const bytes = new Uint8Array(dataAt + data.byteLength);
  const out = view(bytes);
  bytes.set([0x49, 0x49, 42, 0, 8, 0, 0, 0]);
  out.setUint16(8, entryCount, true);
  let arrayAt = arraysAt;
  entries.forEach(([tag, type, values], i) => {
    const at = 10 + i * 12;
    out.setUint16(at, tag, true);
    out.setUint16(at + 2, type, true);
    out.setUint32(at + 4, values.length, true);
    if (values.length > 1) {
      out.setUint32(at + 8, arrayAt, true);
      values.forEach((v) => (out.setUint32(arrayAt, v, true), arrayAt += 4));
    } else if (type === 3) out.setUint16(at + 8, values[0], true);
    else out.setUint32(at + 8, values[0], true);
  });
  if (bytesPerSample === 1) bytes.set(data, dataAt);
  else data.forEach((v, i) => out.setUint16(dataAt + 2 * i, v, true));
  await Deno.writeFile(path, bytes);
}
