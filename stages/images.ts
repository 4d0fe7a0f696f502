/**
 * Image ports: whole-fragment 2D maps read by row bands.
 *
 * A blended map of a 30000 x 12000 scroll segment is 1.4 GB of float32; nine
 * of them do not fit in memory. So an {@linkcode ImagePort} is a reader of
 * rows, backed by a Zarr array in the run's work folder
 * ({@linkcode BandStore}) or, for small images, by memory; the stages that
 * read images walk them band by band ({@linkcode imageBands}).
 *
 * @module
 */

import { join } from "node:path";
import { q, UserError } from "../data/errors.ts";
import { type Image2D, imageRows } from "../data/image.ts";
import {
  createZarrV3,
  openZarrImage,
  openZarrWriter,
  type ZarrWriteDtype,
  type ZarrWriter,
} from "../data/zarr.ts";
import { removeIfExists, writeFileAtomic } from "../engine/output.ts";
import type { ImageBand, ImagePort, StageContext } from "./types.ts";

/** Rows per band when nothing else decides. */
export const DEFAULT_BAND_ROWS = 512;

type Elements = Float32Array | Uint8Array | Uint16Array;

const ZARR_DTYPE: Record<ImagePort["dtype"], ZarrWriteDtype> = {
  f32: "float32",
  u8: "uint8",
  u16: "uint16",
};

/**
 * An image port over an image in memory.
 *
 * @example
 * ```ts
 * import { memoryImage, readImage } from "./images.ts";
 * const port = memoryImage({ height: 2, width: 2, data: new Float32Array([1, 2, 3, 4]) });
 * console.assert((await readImage(port)).data[3] === 4);
 * ```
 */
export function memoryImage(
  image: Image2D,
  extra: Pick<ImagePort, "mask" | "labels"> = {},
  bandRows = DEFAULT_BAND_ROWS,
): ImagePort {
  const { height, width } = image;
  const first = imageRows(image, 0, Math.min(1, height)); // the element type, without materialising a lazy image
  const dtype = first instanceof Float32Array ? "f32" : first instanceof Uint16Array ? "u16" : "u8";
  return {
    kind: "image",
    height,
    width,
    dtype,
    bandRows: Math.max(1, Math.min(bandRows, height)),
    readRows(y0, y1) {
      try {
        checkRows(y0, y1, height);
      } catch (e) {
        return Promise.reject(e);
      }
      return Promise.resolve(imageRows(image, y0, y1));
    },
    ...extra,
  };
}

/**
 * The bands of an image from row 0, `rows` rows each (the last may be
 * shorter), reading the next band while the caller works on this one.
 */
export async function* imageBands(
  port: ImagePort,
  rows = port.bandRows,
): AsyncGenerator<ImageBand> {
  const { height } = port;
  let next = height > 0 ? port.readRows(0, Math.min(rows, height)) : undefined;
  for (let y0 = 0; y0 < height; y0 += rows) {
    const data = await next!;
    const y1 = Math.min(y0 + rows, height);
    next = y1 < height ? port.readRows(y1, Math.min(y1 + rows, height)) : undefined;
    yield { y0, data };
  }
}

/** Reads a whole image into memory (for writers that need it whole, and tests). */
export async function readImage(port: ImagePort): Promise<Image2D> {
  const data = port.dtype === "f32"
    ? new Float32Array(port.height * port.width)
    : port.dtype === "u16"
    ? new Uint16Array(port.height * port.width)
    : new Uint8Array(port.height * port.width);
  for await (const band of imageBands(port)) data.set(band.data, band.y0 * port.width);
  return { height: port.height, width: port.width, data };
}

/** Throws a one-line error when two images differ in size. */
export function checkSameSize(a: ImagePort, aName: string, b: ImagePort, bName: string): void {
  if (a.height !== b.height || a.width !== b.width) {
    throw new UserError(
      `input ${q(aName)} is ${a.width}x${a.height} but ${q(bName)} is ${b.width}x${b.height}`,
    );
  }
}

/** Geometry of a {@linkcode BandStore}. */
export interface BandStoreShape {
  height: number;
  width: number;
  dtype: ImagePort["dtype"];
  bandRows: number;
}

interface Progress extends BandStoreShape {
  fingerprint: string;
  /** Bands 0 .. done-1 are written. */
  done: number;
}

/**
 * A 2D image written band by band, in order, into a Zarr v3 array in a
 * node's work folder (one chunk row per band, zstd), with a progress file
 * rewritten atomically after each band. When the node runs again with the
 * same fingerprint (an interrupted run started again), the bands already
 * written are kept and `done` says how many; otherwise the store starts
 * empty.
 */
export class BandStore {
  readonly shape: BandStoreShape;
  readonly path: string;
  readonly #progressPath: string;
  readonly #fingerprint: string;
  #writer: ZarrWriter;
  #done: number;

  private constructor(
    shape: BandStoreShape,
    path: string,
    progressPath: string,
    fingerprint: string,
    writer: ZarrWriter,
    done: number,
  ) {
    this.shape = shape;
    this.path = path;
    this.#progressPath = progressPath;
    this.#fingerprint = fingerprint;
    this.#writer = writer;
    this.#done = done;
  }

  /**
   * Opens or creates the store `name` in the node's work folder. With
   * `partial: false`, bands an earlier run left are kept only when they are
   * all there (for results that cannot be resumed half way).
   */
  static async open(
    ctx: StageContext,
    name: string,
    shape: BandStoreShape,
    options: { partial?: boolean } = {},
  ): Promise<BandStore> {
    const dir = await ctx.workDir();
    const path = join(dir, `${name}.zarr`);
    const progressPath = join(dir, `${name}.json`);
    let done = 0;
    const old = await readProgress(progressPath);
    const bands = Math.ceil(shape.height / shape.bandRows);
    const same = old && old.fingerprint === ctx.fingerprint &&
      (["height", "width", "dtype", "bandRows"] as const).every((k) => old[k] === shape[k]) &&
      (options.partial !== false || old.done === bands);
    if (same) done = old.done;
    else {
      await removeIfExists(progressPath);
      await removeIfExists(path);
    }
    const writer = done > 0 ? await openZarrWriter(path) : await createZarrV3(path, {
      shape: [shape.height, shape.width],
      dtype: ZARR_DTYPE[shape.dtype],
      chunks: [shape.bandRows, shape.width],
      compressor: "zstd",
      level: 1,
    });
    const store = new BandStore(shape, path, progressPath, ctx.fingerprint, writer, done);
    if (!same) await store.#saveProgress();
    return store;
  }

  /** Number of bands. */
  get bands(): number {
    return Math.ceil(this.shape.height / this.shape.bandRows);
  }

  /** Bands written so far (0 .. done-1). */
  get done(): number {
    return this.#done;
  }

  /** The first row not yet written. */
  get doneRows(): number {
    return Math.min(this.#done * this.shape.bandRows, this.shape.height);
  }

  /** True when every band is written. */
  get complete(): boolean {
    return this.#done === this.bands;
  }

  /** Writes the next band (`rows` whole rows starting at band `done`). */
  async writeBand(data: Elements): Promise<void> {
    const { bandRows, width, height } = this.shape;
    const y0 = this.#done * bandRows;
    const rows = Math.min(bandRows, height - y0);
    if (rows <= 0 || data.length !== rows * width) {
      throw new RangeError(
        `BandStore.writeBand: band ${this.#done} of ${this.path} wants ${rows} rows of ${width}, got ${data.length} values`,
      );
    }
    await this.#writer.writeRegion([y0, 0], [rows, width], data);
    this.#done++;
    await this.#saveProgress();
  }

  /** An image port reading the written store (call when complete). */
  async port(extra: Pick<ImagePort, "mask" | "labels"> = {}): Promise<ImagePort> {
    if (!this.complete) {
      throw new Error(`BandStore.port: ${this.path} has ${this.#done} of ${this.bands} bands`);
    }
    await this.#writer.close();
    const image = await openZarrImage(this.path);
    return {
      kind: "image",
      height: image.height,
      width: image.width,
      dtype: this.shape.dtype,
      bandRows: this.shape.bandRows,
      readRows: (y0, y1) => image.readRows(y0, y1),
      ...extra,
    };
  }

  #saveProgress(): Promise<void> {
    const progress: Progress = { ...this.shape, fingerprint: this.#fingerprint, done: this.#done };
    return writeFileAtomic(this.#progressPath, JSON.stringify(progress) + "\n");
  }
}

async function readProgress(path: string): Promise<Progress | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(path)) as Progress;
  } catch {
    return undefined;
  }
}

function checkRows(y0: number, y1: number, height: number): void {
  if (!(Number.isInteger(y0) && Number.isInteger(y1) && 0 <= y0 && y0 < y1 && y1 <= height)) {
    throw new RangeError(`readRows: rows [${y0}, ${y1}) are outside 0..${height}`);
  }
}
