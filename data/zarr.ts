/**
 * Zarr v2 and v3 arrays as volumes and images (read), and chunked Zarr v3
 * arrays written region by region.
 *
 * Reading goes through zarrita and a store made by a {@linkcode StoreFactory}:
 * a local folder by default, or an http(s) URL. A read decodes only the
 * chunks its region touches, one chunk at a time, and a chunk that fails to
 * decode is named in the error.
 *
 * Importing this module adjusts zarrita's Blosc codec (v2 and v3) in its
 * codec registry: it accepts the v3 spec's shuffle names ("noshuffle",
 * "shuffle", "bitshuffle"), which numcodecs otherwise takes for "noshuffle"
 * when encoding, and it rejects truncated chunks, which the Blosc decoder
 * otherwise decodes to garbage without an error.
 *
 * @module
 */

import * as zarr from "zarrita";
import FileSystemStore from "@zarrita/storage/fs";
import { exists, isUrl, joinPath } from "./_util.ts";
import { q, UserError } from "./errors.ts";
import type { Image2D } from "./image.ts";
import type { DepthWindow, VolumeDtype, VolumeSource } from "./volume.ts";
import { checkRegion, windowLayers } from "./window.ts";

/** A readable Zarr store (zarrita's `Readable`): keys to bytes. */
export type ZarrStore = zarr.Readable;

/** Makes the store for a Zarr location (a folder path or an http(s) URL). */
export type StoreFactory = (location: string) => ZarrStore;

/**
 * The default {@linkcode StoreFactory}: `FetchStore` for http(s) URLs,
 * `FileSystemStore` for everything else.
 *
 * @example
 * ```ts
 * import { defaultStore } from "./zarr.ts";
 * const store = defaultStore("https://example.com/scroll.zarr");
 * ```
 */
export function defaultStore(location: string): ZarrStore {
  return isUrl(location) ? new zarr.FetchStore(location) : new FileSystemStore(location);
}

/** Options for reading a Zarr store. */
export interface ZarrReadOptions {
  /** Makes the store; {@linkcode defaultStore} by default. */
  store?: StoreFactory;
}

/** Options for {@linkcode openZarr}. */
export interface OpenZarrOptions extends ZarrReadOptions {
  /** Layers to read; all by default. */
  window?: DepthWindow;
  /**
   * The array inside a group; by default "surface", or the group's only 3D
   * array when it has no "surface". Ignored when `path` is an array.
   */
  array?: string;
}

/** What {@linkcode probeZarr} found. */
export interface ZarrNode {
  /** An array or a group. */
  kind: "array" | "group";
  /** The Zarr format version. */
  version: 2 | 3;
}

const SHUFFLE: Record<string, number> = {
  noshuffle: 0,
  shuffle: 1,
  bitshuffle: 2,
};

type Codec = {
  encode(data: Uint8Array): Promise<Uint8Array>;
  decode(data: Uint8Array): Promise<Uint8Array>;
};

for (const name of ["blosc", "numcodecs.blosc"]) {
  const load = zarr.registry.get(name)!;
  zarr.registry.set(name, async () => {
    const Blosc = await load();
    return {
      fromConfig(
        config: unknown,
        meta: Parameters<typeof Blosc.fromConfig>[1],
      ) {
        const { shuffle } = config as { shuffle?: unknown };
        const codec = Blosc.fromConfig(
          { ...config as object, shuffle: SHUFFLE[String(shuffle)] ?? shuffle },
          meta,
        ) as unknown as Codec;
        const checked: Codec = {
          encode: (data) => codec.encode(data),
          decode(data) {
            const size = data.length >= 16 &&
              new DataView(data.buffer, data.byteOffset).getUint32(12, true);
            if (size !== data.length) {
              throw new Error(
                size === false
                  ? `truncated Blosc data (${data.length} bytes, less than a header)`
                  : `truncated or corrupt Blosc data (${data.length} bytes, the header says ${size})`,
              );
            }
            return codec.decode(data);
          },
        };
        return checked as unknown as ReturnType<typeof Blosc.fromConfig>;
      },
    };
  });
}

/**
 * Finds what is at `path` (or at `name` inside it): a Zarr v2 or v3 array or
 * group, or nothing (`undefined`), by its metadata file.
 *
 * @throws {UserError} When the metadata file is not valid JSON.
 *
 * @example
 * ```ts
 * import { probeZarr } from "./zarr.ts";
 * const node = await probeZarr("/no/such/store.zarr");
 * console.assert(node === undefined);
 * ```
 */
export async function probeZarr(
  path: string,
  name?: string,
  options: ZarrReadOptions = {},
): Promise<ZarrNode | undefined> {
  const store = (options.store ?? defaultStore)(path);
  const node = await readNode(store, path, name);
  return node && { kind: node.kind, version: node.version };
}

interface Node extends ZarrNode {
  meta: Record<string, unknown>;
  location: zarr.Location<zarr.Readable>;
}

async function readNode(
  store: zarr.Readable,
  path: string,
  name?: string,
): Promise<Node | undefined> {
  const location = name ? zarr.root(store).resolve(name) : zarr.root(store);
  const files = [
    ["zarr.json", 3],
    [".zarray", 2],
    [".zgroup", 2],
  ] as const;
  for (const [file, version] of files) {
    const key = location.resolve(file).path;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await store.get(key);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOTDIR") return; // a file
      throw new UserError(`Cannot open ${q(path)}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (!bytes) continue;
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      const file = q(joinPath(path, key.slice(1)));
      const why = `invalid JSON (${(err as Error).message})`;
      throw new UserError(`Cannot open ${file}: ${why}`, { cause: err });
    }
    const kind = file === ".zarray" || meta.node_type === "array" ? "array" : "group";
    return { kind, version, meta, location };
  }
}

/** An opened array, with what error messages need. */
interface Source {
  array: zarr.Array<zarr.DataType, zarr.Readable>;
  node: Node;
  /** The array's path, for messages. */
  where: string;
  /** Reads one chunk, naming it on failure. */
  chunk(coords: number[]): Promise<zarr.Chunk<zarr.DataType>>;
}

async function openSource(
  path: string,
  name: string | undefined,
  rank: 2 | 3,
  options: ZarrReadOptions,
): Promise<Source> {
  const store = (options.store ?? defaultStore)(path);
  const root = await readNode(store, path);
  if (!root) {
    if (!isUrl(path) && !await exists(path)) {
      throw new UserError(`Cannot open ${q(path)}: no such file or folder`);
    }
    const why = "not a Zarr array or group (no zarr.json, .zarray or .zgroup)";
    throw new UserError(`Cannot open ${q(path)}: ${why}`);
  }
  let node = root;
  if (root.kind === "group") {
    const choice = name ?? await defaultArray(store, path);
    const child = await readNode(store, path, choice);
    if (child?.kind !== "array") {
      const names = await arrayNames(store, path);
      const hint = name ? "" : "; name the array";
      throw new UserError(
        `Cannot open ${q(path)}: the group has no array ${q(choice)} (arrays: ${
          names.join(", ") || "none found"
        })${hint}`,
      );
    }
    [node, name] = [child, choice];
  } else name = undefined;
  const where = name ? joinPath(path, name) : path;
  let array: zarr.Array<zarr.DataType, zarr.Readable>;
  try {
    const open = node.version === 2 ? zarr.open.v2 : zarr.open.v3;
    array = await open(node.location, { kind: "array" });
  } catch (err) {
    throw new UserError(`Cannot open ${q(where)}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (array.shape.length !== rank) {
    const wanted = rank === 3 ? "a volume must be 3D (z, y, x)" : "an image must be 2D (y, x)";
    const found = `the array is ${array.shape.length}D`;
    throw new UserError(`Cannot open ${q(where)}: ${found} but ${wanted}`);
  }
  const keyOf = chunkKeyEncoder(node);
  const chunkSize = product(array.chunks);
  return {
    array,
    node,
    where,
    async chunk(coords) {
      const key = q((name ? name + "/" : "") + keyOf(coords));
      const fail = (reason: string, cause?: unknown) =>
        new UserError(`Cannot read chunk ${key} of ${q(path)}: ${reason}`, {
          cause,
        });
      let chunk: zarr.Chunk<zarr.DataType>;
      try {
        chunk = await array.getChunk(coords);
      } catch (err) {
        const cause = (err as Error).cause ?? err;
        throw fail(cause instanceof Error ? cause.message : String(cause), err);
      }
      if (chunk.data.length !== chunkSize) {
        throw fail(`${chunk.data.length} values instead of ${chunkSize}`);
      }
      return chunk;
    },
  };
}

/** "surface" if the group has it, else its only 3D array, else "surface". */
async function defaultArray(
  store: zarr.Readable,
  path: string,
): Promise<string> {
  if ((await readNode(store, path, "surface"))?.kind === "array") {
    return "surface";
  }
  const volumes: string[] = [];
  for (const name of await arrayNames(store, path)) {
    const node = await readNode(store, path, name);
    if ((node?.meta.shape as unknown[] | undefined)?.length === 3) {
      volumes.push(name);
    }
  }
  return volumes.length === 1 ? volumes[0] : "surface";
}

/** Names of the arrays directly in a local group, sorted; none for URLs. */
async function arrayNames(
  store: zarr.Readable,
  path: string,
): Promise<string[]> {
  if (isUrl(path)) return [];
  const names: string[] = [];
  for await (const entry of Deno.readDir(path)) {
    if (
      entry.isDirectory &&
      (await readNode(store, path, entry.name))?.kind === "array"
    ) {
      names.push(entry.name);
    }
  }
  return names.sort();
}

function chunkKeyEncoder(node: Node): (coords: number[]) => string {
  if (node.version === 2) {
    const separator = (node.meta.dimension_separator as string) ?? ".";
    return (coords) => coords.join(separator);
  }
  const encoding = node.meta.chunk_key_encoding as {
    name: string;
    configuration?: { separator?: string };
  };
  const v2 = encoding.name === "v2";
  const separator = encoding.configuration?.separator ?? (v2 ? "." : "/");
  return (coords) => (v2 ? coords : ["c", ...coords]).join(separator);
}

type Elements = Uint8Array | Uint16Array | Float32Array;

const ARRAY_TYPES = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  float32: Float32Array,
} as const;

/**
 * Reads the box `[lo, hi)` of an array into a new C-order array, decoding
 * each chunk the box touches once; `reverse` flips the first axis.
 */
async function readBox(
  source: Source,
  lo: number[],
  hi: number[],
  reverse = false,
): Promise<Elements> {
  const { array } = source;
  const chunks = array.chunks;
  const shape = hi.map((h, i) => h - lo[i]);
  const out = new ARRAY_TYPES[array.dtype as ZarrWriteDtype](product(shape));
  const outStride = strides(shape);
  let grid: number[][] = [[]];
  lo.forEach((l, i) => {
    const indices: number[] = [];
    for (let c = Math.floor(l / chunks[i]); c * chunks[i] < hi[i]; c++) {
      indices.push(c);
    }
    grid = grid.flatMap((prefix) => indices.map((c) => [...prefix, c]));
  });
  await Promise.all(grid.map(async (coords) => {
    const { data, stride } = await source.chunk(coords);
    const values = data as Elements;
    const start = coords.map((c, i) => Math.max(lo[i], c * chunks[i]));
    const end = coords.map((c, i) => Math.min(hi[i], (c + 1) * chunks[i]));
    const last = lo.length - 1;
    const run = end[last] - start[last];
    const index = start.slice();
    while (true) {
      let from = 0;
      let to = 0;
      for (let i = 0; i <= last; i++) {
        from += (index[i] - coords[i] * chunks[i]) * stride[i];
        to += (i === 0 && reverse ? hi[0] - 1 - index[0] : index[i] - lo[i]) *
          outStride[i];
      }
      if (stride[last] === 1) {
        out.set(values.subarray(from, from + run), to);
      } else {
        for (let k = 0; k < run; k++) {
          out[to + k] = values[from + k * stride[last]];
        }
      }
      let axis = last - 1;
      for (; axis >= 0; axis--) {
        if (++index[axis] < end[axis]) break;
        index[axis] = start[axis];
      }
      if (axis < 0) break;
    }
  }));
  return out;
}

/**
 * Opens a 3D (z, y, x) uint8 or uint16 Zarr array as a volume, given the
 * array's own path or a group's path (see {@linkcode OpenZarrOptions.array}).
 * A read decodes only the chunks that hold the window's layers and the
 * region's rows and columns.
 *
 * @throws {UserError} When the path is missing or not a Zarr store, the array
 * is not there, has the wrong rank or data type, or the window does not fit.
 *
 * @example
 * ```ts ignore
 * import { openZarr } from "./zarr.ts";
 * const volume = await openZarr("fragment1-16um.zarr", { window: { start: 1, count: 2 } });
 * const band = await volume.readRegion(0, 128, 0, volume.shape[2]); // (2, 128, width)
 * ```
 */
export async function openZarr(
  path: string,
  options: OpenZarrOptions = {},
): Promise<VolumeSource> {
  const source = await openSource(path, options.array, 3, options);
  const { array, where, node } = source;
  if (array.dtype !== "uint8" && array.dtype !== "uint16") {
    const why = `data type ${array.dtype} is not supported, only uint8 and uint16`;
    throw new UserError(`Cannot open ${q(where)}: ${why}`);
  }
  const [depth, height, width] = array.shape;
  const layers = windowLayers(options.window ?? { start: 0 }, depth, where);
  const first = Math.min(...layers);
  const reverse = options.window?.reverse ?? false;
  return {
    path: where,
    format: `zarr-v${node.version}`,
    shape: [layers.length, height, width],
    dtype: array.dtype as VolumeDtype,
    layers,
    async readRegion(y0, y1, x0, x1) {
      checkRegion(y0, y1, x0, x1, height, width);
      const lo = [first, y0, x0];
      const hi = [first + layers.length, y1, x1];
      return await readBox(source, lo, hi, reverse) as Uint8Array | Uint16Array;
    },
    close: () => Promise.resolve(),
  };
}

/**
 * Reads a whole 2D (y, x) uint8, uint16 or float32 Zarr array, such as a
 * fragment's "mask" or "inklabels", given the array's path or a group's path
 * and the array's name.
 *
 * @throws {UserError} Like {@linkcode openZarr}, and when a chunk is corrupt.
 *
 * @example
 * ```ts ignore
 * import { readZarrImage } from "./zarr.ts";
 * const mask = await readZarrImage("fragment1-16um.zarr", "mask");
 * ```
 */
export async function readZarrImage(
  path: string,
  name?: string,
  options: ZarrReadOptions = {},
): Promise<Image2D> {
  const source = await openSource(path, name, 2, options);
  const { array, where } = source;
  if (!(array.dtype in ARRAY_TYPES)) {
    const why = `data type ${array.dtype} is not supported, only uint8, uint16 and float32`;
    throw new UserError(`Cannot open ${q(where)}: ${why}`);
  }
  const [height, width] = array.shape;
  return {
    height,
    width,
    data: await readBox(source, [0, 0], [height, width]),
  };
}

/** Element types {@linkcode createZarrV3} writes. */
export type ZarrWriteDtype = "uint8" | "uint16" | "float32";

/** Options for {@linkcode createZarrV3}. */
export interface CreateZarrOptions {
  /** Array shape, for example (z, y, x). */
  shape: readonly number[];
  /** Element type. */
  dtype: ZarrWriteDtype;
  /** Chunk shape, same rank as `shape`. */
  chunks: readonly number[];
  /**
   * Chunk compression: Blosc with zstd and bit-shuffle (the default), plain
   * zstd, or none (the bytes codec only).
   */
  compressor?: "blosc-zstd" | "zstd" | "none";
  /** zstd level, 3 by default. */
  level?: number;
}

/** Writes a Zarr v3 array region by region. */
export interface ZarrWriter {
  /** The array's folder. */
  readonly path: string;
  /** The array's shape. */
  readonly shape: readonly number[];
  /**
   * Writes the box at `offset` of size `shape` from C-order `data` of the
   * array's type. Chunks the box covers fully are written without reading
   * them; partly covered ones are read, updated and rewritten, so await each
   * call before writing an overlapping chunk again.
   *
   * @throws {RangeError} When the box is outside the array or `data` has the
   * wrong length; {@linkcode TypeError} when it has the wrong type.
   */
  writeRegion(
    offset: readonly number[],
    shape: readonly number[],
    data: Uint8Array | Uint16Array | Float32Array,
  ): Promise<void>;
  /** Ends writing; later writes throw. */
  close(): Promise<void>;
}

/**
 * Creates a Zarr v3 array in a new folder and returns a writer for it, so a
 * volume can be written band by band without holding it in memory. Chunks
 * never written read as 0.
 *
 * @throws {UserError} When a Zarr array or group already exists at `path`.
 *
 * @example
 * ```ts
 * import { createZarrV3, openZarr } from "./zarr.ts";
 * const path = await Deno.makeTempDir();
 * const writer = await createZarrV3(path, { shape: [2, 4, 4], dtype: "uint16", chunks: [2, 2, 4] });
 * await writer.writeRegion([0, 0, 0], [2, 2, 4], new Uint16Array(16).fill(7));
 * await writer.close();
 * const volume = await openZarr(path);
 * console.assert((await volume.readRegion(0, 1, 0, 4))[0] === 7);
 * ```
 */
export async function createZarrV3(
  path: string,
  options: CreateZarrOptions,
): Promise<ZarrWriter> {
  const { shape, dtype, chunks, compressor = "blosc-zstd", level = 3 } = options;
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  if (
    chunks.length !== shape.length || ![...shape, ...chunks].every(positive)
  ) {
    throw new RangeError(
      `createZarrV3: shape [${shape}] and chunks [${chunks}] must be positive whole numbers of the same rank`,
    );
  }
  if (await probeZarr(path)) {
    throw new UserError(
      `Cannot create ${q(path)}: a Zarr array or group is already there`,
    );
  }
  const bytesPerElement = ARRAY_TYPES[dtype].BYTES_PER_ELEMENT;
  const compressors = {
    "blosc-zstd": [{
      name: "blosc",
      configuration: {
        cname: "zstd",
        clevel: level,
        shuffle: "bitshuffle",
        typesize: bytesPerElement,
        blocksize: 0,
      },
    }],
    zstd: [{ name: "zstd", configuration: { level, checksum: false } }],
    none: [],
  };
  const array = await zarr.create(new FileSystemStore(path), {
    shape: [...shape],
    chunkShape: [...chunks],
    dtype,
    fillValue: 0,
    codecs: [
      { name: "bytes", configuration: { endian: "little" } },
      ...compressors[compressor],
    ],
  });
  return writerFor(array, path, shape, dtype);
}

/**
 * Opens an existing Zarr v3 array (one {@linkcode createZarrV3} made) for
 * more writes, for example to go on writing bands after an interrupted run.
 *
 * @throws {UserError} When there is no such array or it has another type.
 */
export async function openZarrWriter(path: string): Promise<ZarrWriter> {
  let array: zarr.Array<zarr.DataType, FileSystemStore>;
  try {
    array = await zarr.open.v3(new FileSystemStore(path), { kind: "array" });
  } catch (err) {
    throw new UserError(`Cannot open ${q(path)} for writing: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (!(array.dtype in ARRAY_TYPES)) {
    throw new UserError(`Cannot open ${q(path)} for writing: data type ${array.dtype}`);
  }
  return writerFor(array, path, array.shape, array.dtype as ZarrWriteDtype);
}

function writerFor(
  array: zarr.Array<zarr.DataType, FileSystemStore>,
  path: string,
  shape: readonly number[],
  dtype: ZarrWriteDtype,
): ZarrWriter {
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  let closed = false;
  return {
    path,
    shape,
    async writeRegion(offset, size, data) {
      if (closed) throw new Error(`writeRegion: ${q(path)} is closed`);
      if (!(data instanceof ARRAY_TYPES[dtype])) {
        const given = data.constructor.name;
        throw new TypeError(
          `writeRegion: ${q(path)} holds ${dtype}, not ${given}`,
        );
      }
      const inside = offset.length === shape.length &&
        size.length === shape.length &&
        offset.every((o, i) =>
          Number.isInteger(o) && o >= 0 && positive(size[i]) &&
          o + size[i] <= shape[i]
        );
      if (!inside || data.length !== product(size)) {
        throw new RangeError(
          `writeRegion: box at [${offset}] of size [${size}] with ${data.length} values does not fit [${shape}]`,
        );
      }
      const box = { data, shape: [...size], stride: strides(size) };
      await zarr.set(
        array,
        offset.map((o, i) => zarr.slice(o, o + size[i])),
        box as zarr.Chunk<typeof array.dtype>,
      );
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
}

function product(values: readonly number[]): number {
  return values.reduce((a, b) => a * b, 1);
}

/** Element strides of a C-order array of `shape`. */
function strides(shape: readonly number[]): number[] {
  return shape.map((_, i) => product(shape.slice(i + 1)));
}

/** A 2D Zarr array opened for reading rows, see {@linkcode openZarrImage}. */
export interface ZarrImage {
  /** The array's path, for messages. */
  path: string;
  height: number;
  width: number;
  dtype: ZarrWriteDtype;
  /** Rows per chunk: reads of whole chunk rows decode each chunk once. */
  chunkRows: number;
  /** Rows `[y0, y1)`, all columns, as a new array. */
  readRows(y0: number, y1: number): Promise<Uint8Array | Uint16Array | Float32Array>;
}

/**
 * Opens a 2D (y, x) uint8, uint16 or float32 Zarr array for reading row
 * bands, decoding only the chunks the rows touch.
 *
 * @throws {UserError} Like {@linkcode readZarrImage}.
 *
 * @example
 * ```ts
 * import { createZarrV3, openZarrImage } from "./zarr.ts";
 * const path = await Deno.makeTempDir();
 * const writer = await createZarrV3(path, { shape: [4, 2], dtype: "float32", chunks: [2, 2] });
 * await writer.writeRegion([2, 0], [2, 2], new Float32Array([1, 2, 3, 4]));
 * const image = await openZarrImage(path);
 * console.assert((await image.readRows(1, 3)).join() === "0,0,1,2");
 * ```
 */
export async function openZarrImage(
  path: string,
  name?: string,
  options: ZarrReadOptions = {},
): Promise<ZarrImage> {
  const source = await openSource(path, name, 2, options);
  const { array, where } = source;
  if (!(array.dtype in ARRAY_TYPES)) {
    const why = `data type ${array.dtype} is not supported, only uint8, uint16 and float32`;
    throw new UserError(`Cannot open ${q(where)}: ${why}`);
  }
  const [height, width] = array.shape;
  return {
    path: where,
    height,
    width,
    dtype: array.dtype as ZarrWriteDtype,
    chunkRows: array.chunks[0],
    async readRows(y0, y1) {
      if (!(Number.isInteger(y0) && Number.isInteger(y1) && 0 <= y0 && y0 < y1 && y1 <= height)) {
        throw new RangeError(
          `readRows: rows [${y0}, ${y1}) are outside 0..${height} of ${q(where)}`,
        );
      }
      return await readBox(source, [y0, 0], [y1, width]);
    },
  };
}
