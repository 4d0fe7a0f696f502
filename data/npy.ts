/**
 * NumPy `.npy` reading and writing: little-endian, C-order arrays of the
 * number types the networks and their golden fixtures use.
 *
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 *
 * @module
 */

import { fsReason, q, UserError } from "./errors.ts";

/** The typed array of each supported dtype. */
export interface NpyTypes {
  f32: Float32Array;
  f64: Float64Array;
  f16: Float16Array;
  i64: BigInt64Array;
  i32: Int32Array;
  u8: Uint8Array;
  u16: Uint16Array;
}

/** A supported dtype: "f32" is numpy's `<f4`, "u8" its `|u1`, and so on. */
export type NpyDtype = keyof NpyTypes;

/** An array of one dtype: its shape (`[]` for a scalar) and its values in C order. */
export interface NpyArrayOf<D extends NpyDtype> {
  shape: number[];
  dtype: D;
  data: NpyTypes[D];
}

/** An array of any supported dtype; `dtype` tells which typed array `data` is. */
export type NpyArray = { [D in NpyDtype]: NpyArrayOf<D> }[NpyDtype];

/** The typed arrays {@linkcode writeNpy} accepts. */
export type NpyData = NpyTypes[NpyDtype];

/** Options for {@linkcode readNpy} and {@linkcode decodeNpy}. */
export interface ReadNpyOptions<D extends NpyDtype> {
  /** The dtype the array must have; another one is a `UserError`. */
  dtype?: D;
}

const DESCR: Record<NpyDtype, string> = {
  f32: "<f4",
  f64: "<f8",
  f16: "<f2",
  i64: "<i8",
  i32: "<i4",
  u8: "|u1",
  u16: "<u2",
};

const DTYPE_OF_DESCR: Record<string, NpyDtype> = {
  "<f4": "f32",
  "<f8": "f64",
  "<f2": "f16",
  "<i8": "i64",
  "<i4": "i32",
  "|u1": "u8",
  "<u1": "u8",
  "<u2": "u16",
};

const ARRAY: {
  [D in NpyDtype]: {
    new (buffer: ArrayBuffer, offset: number, length: number): NpyTypes[D];
    BYTES_PER_ELEMENT: number;
  };
} = {
  f32: Float32Array,
  f64: Float64Array,
  f16: Float16Array,
  i64: BigInt64Array,
  i32: Int32Array,
  u8: Uint8Array,
  u16: Uint16Array,
};

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
/** numpy pads the header so that the data starts at a multiple of this. */
const ALIGN = 64;
/** numpy (>= 1.23) leaves room after the header for the first axis to grow to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Reads a `.npy` file (format version 1.0, 2.0 or 3.0).
 *
 * Supported: little-endian (or single-byte) `<f4`, `<f8`, `<f2`, `<i8`,
 * `<i4`, `|u1` and `<u2` in C order. float16 comes back as a
 * `Float16Array`, int64 as a `BigInt64Array`.
 *
 * @throws {UserError} When the file is missing, not a `.npy` file, truncated,
 * in Fortran order, big-endian, of another dtype, or not of `options.dtype`.
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "./npy.ts";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await writeNpy(path, [2, 2], new Float32Array([1, 2, 3, 4]));
 * const array = await readNpy(path, { dtype: "f32" });
 * console.assert(array.shape[1] === 2 && array.data[3] === 4);
 * ```
 */
export function readNpy(path: string): Promise<NpyArray>;
export function readNpy<D extends NpyDtype>(
  path: string,
  options: ReadNpyOptions<D> & { dtype: D },
): Promise<NpyArrayOf<D>>;
export async function readNpy(
  path: string,
  options: ReadNpyOptions<NpyDtype> = {},
): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new UserError(`Cannot read ${q(path)}: ${fsReason(err)}`, { cause: err });
  }
  return decodeNpy(bytes, { ...options, name: path });
}

/**
 * Decodes the bytes of a `.npy` file; see {@linkcode readNpy}. The result
 * may share memory with `bytes`. `options.name` names the data in errors.
 *
 * @throws {UserError} As {@linkcode readNpy}.
 *
 * @example
 * ```ts
 * import { decodeNpy, encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy([3], new Uint16Array([1, 2, 3]));
 * console.assert(decodeNpy(bytes).dtype === "u16");
 * ```
 */
export function decodeNpy(bytes: Uint8Array, options?: { name?: string }): NpyArray;
export function decodeNpy<D extends NpyDtype>(
  bytes: Uint8Array,
  options: ReadNpyOptions<D> & { dtype: D; name?: string },
): NpyArrayOf<D>;
export function decodeNpy(
  bytes: Uint8Array,
  options: ReadNpyOptions<NpyDtype> & { name?: string } = {},
): NpyArray {
  const name = options.name ?? ".npy data";
  const fail = (why: string) => new UserError(`Cannot read ${q(name)}: ${why}`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw fail("not a .npy file");
  }
  const [major, minor] = [bytes[6], bytes[7]];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number, headerLength: number;
  if (major === 1) {
    [headerStart, headerLength] = [10, view.getUint16(8, true)];
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw fail("truncated header");
    [headerStart, headerLength] = [12, view.getUint32(8, true)];
  } else {
    throw fail(`unsupported .npy format version ${major}.${minor}`);
  }
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart) throw fail("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, dataStart),
  );
  const { descr, fortran, shape } = parseHeader(header, fail);
  if (fortran) throw fail("Fortran-order arrays are not supported (save in C order)");
  const dtype = DTYPE_OF_DESCR[descr];
  if (dtype === undefined) {
    throw fail(
      descr.startsWith(">") && DTYPE_OF_DESCR[`<${descr.slice(1)}`]
        ? `big-endian data (${q(descr)}) is not supported`
        : `unsupported dtype ${q(descr)}; expected one of ${Object.values(DESCR).join(", ")}`,
    );
  }
  if (options.dtype !== undefined && options.dtype !== dtype) {
    throw fail(`dtype is ${dtype} (${q(descr)}), expected ${options.dtype}`);
  }
  if (!LITTLE_ENDIAN) throw new Error("readNpy needs a little-endian platform");
  const length = shape.reduce((a, b) => a * b, 1);
  const Typed = ARRAY[dtype];
  const byteLength = length * Typed.BYTES_PER_ELEMENT;
  const found = bytes.length - dataStart;
  if (found !== byteLength) {
    throw fail(
      `${found < byteLength ? "truncated" : "trailing bytes"}: ${found} data bytes for shape ` +
        `(${shape.join(", ")}) of ${dtype}, expected ${byteLength}`,
    );
  }
  const offset = bytes.byteOffset + dataStart;
  const data = offset % Typed.BYTES_PER_ELEMENT === 0 && bytes.buffer instanceof ArrayBuffer
    ? new Typed(bytes.buffer, offset, length)
    : new Typed(bytes.slice(dataStart).buffer, 0, length);
  return { shape, dtype, data } as NpyArray;
}

/** Parses numpy's header, a Python dict literal. */
function parseHeader(
  header: string,
  fail: (why: string) => UserError,
): { descr: string; fortran: boolean; shape: number[] } {
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw fail(
      /['"]descr['"]\s*:\s*\[/.test(header)
        ? "structured dtypes are not supported"
        : `malformed header ${q(header.trim())}`,
    );
  }
  const parts = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!parts.every((s) => /^\d+L?$/.test(s))) throw fail(`malformed shape (${shapeText})`);
  return { descr, fortran: fortran === "True", shape: parts.map((s) => parseInt(s, 10)) };
}

/** The dtype of a typed array that {@linkcode writeNpy} accepts, else undefined. */
function dtypeOf(data: NpyData): NpyDtype | undefined {
  return (Object.keys(ARRAY) as NpyDtype[]).find((d) => data.constructor === ARRAY[d]);
}

/**
 * Encodes an array as the bytes of a version 1.0 `.npy` file (2.0 if the
 * header would not fit), byte for byte as numpy's `np.save` writes it. The
 * dtype follows the typed array: `Float32Array` gives `<f4`, `Uint8Array`
 * `|u1`, `BigInt64Array` `<i8`, and so on.
 *
 * @throws {RangeError} When `data.length` is not the product of `shape`, or
 * a dimension is not a whole number.
 * @throws {TypeError} When `data` is another kind of array.
 *
 * @example
 * ```ts
 * import { encodeNpy } from "./npy.ts";
 * const bytes = encodeNpy([2], new Float32Array([1, 2]));
 * console.assert(bytes.length === 128 + 8);
 * ```
 */
export function encodeNpy(shape: readonly number[], data: NpyData): Uint8Array {
  const dtype = dtypeOf(data);
  if (dtype === undefined) {
    throw new TypeError(`encodeNpy: unsupported array type ${data.constructor.name}`);
  }
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new RangeError(`encodeNpy: invalid shape [${shape.join(", ")}]`);
  }
  const length = shape.reduce((a, b) => a * b, 1);
  if (length !== data.length) {
    throw new RangeError(
      `encodeNpy: ${data.length} values for shape [${shape.join(", ")}] (${length} values)`,
    );
  }
  if (!LITTLE_ENDIAN) throw new Error("encodeNpy needs a little-endian platform");
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let text = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  if (shape.length > 0) text += " ".repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  // As numpy's _wrap_header: 1 to ALIGN spaces and a newline end the header.
  const paddedLength = (prefix: number) =>
    text.length + 1 + ALIGN - (prefix + text.length + 1) % ALIGN;
  let prefix = 10;
  let padded = paddedLength(prefix);
  if (padded > 0xffff) padded = paddedLength(prefix = 12);
  const header = text.padEnd(padded - 1, " ") + "\n";
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(prefix + padded + body.length);
  out.set(MAGIC);
  out[6] = prefix === 10 ? 1 : 2;
  const view = new DataView(out.buffer);
  if (prefix === 10) view.setUint16(8, padded, true);
  else view.setUint32(8, padded, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(body, prefix + padded);
  return out;
}

/**
 * Writes an array as a `.npy` file; see {@linkcode encodeNpy}. Reading it
 * back with {@linkcode readNpy} or `np.load` gives the same shape and values.
 *
 * @throws {RangeError} When `data.length` is not the product of `shape`.
 * @throws {UserError} When the file cannot be written.
 *
 * @example
 * ```ts
 * import { writeNpy } from "./npy.ts";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * await writeNpy(path, [2, 3], new Float32Array(6));
 * ```
 */
export async function writeNpy(
  path: string,
  shape: readonly number[],
  data: NpyData,
): Promise<void> {
  const bytes = encodeNpy(shape, data);
  try {
    await Deno.writeFile(path, bytes);
  } catch (err) {
    throw new UserError(`Cannot write ${q(path)}: ${fsReason(err)}`, { cause: err });
  }
}
