/**
 * safetensors files: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}`
 * and the tensors' bytes, little-endian and row-major.
 *
 * @module
 */

import { q } from "../errors.ts";
import { RangeFile } from "./_file.ts";
import {
  bytesOf,
  type CheckpointTensor,
  type Dtype,
  DTYPE_SIZE,
  RAW_ARRAY,
  shapeSize,
  StateDict,
  toFloat32,
} from "./tensor.ts";

/** safetensors dtype names by dtype. */
const NAMES: Readonly<Record<Dtype, string>> = {
  f32: "F32",
  f16: "F16",
  bf16: "BF16",
  f64: "F64",
  i64: "I64",
  i32: "I32",
  u8: "U8",
  bool: "BOOL",
};
const DTYPES = new Map(Object.entries(NAMES).map(([dtype, name]) => [name, dtype as Dtype]));

/** Headers above this size are refused as corrupt (the format's own limit). */
const MAX_HEADER = 100_000_000;

/**
 * Reads a safetensors file's header; each tensor's bytes are read when its
 * `raw()` or `data()` is called. `__metadata__` is not returned.
 *
 * @throws {UserError} When the file is missing or not a valid safetensors
 * file, or holds a dtype other than F32, F16, BF16, F64, I64, I32, U8, BOOL.
 *
 * @example
 * ```ts
 * import { readSafetensors, tensorFrom, writeSafetensors } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, new Map([["n", tensorFrom({ shape: [], data: new BigInt64Array([7n]) })]]));
 * const n = (await readSafetensors(path)).get("n")!;
 * console.assert(n.dtype === "i64" && (await n.data())[0] === 7);
 * ```
 */
export async function readSafetensors(path: string): Promise<StateDict> {
  const file = await RangeFile.open(path);
  const bad = (why: string) => file.fail(`not a valid safetensors file (${why})`);
  if (file.size < 8) throw bad("too short");
  const headerSize = Number(new DataView((await file.read(0, 8)).buffer).getBigUint64(0, true));
  if (headerSize > MAX_HEADER || 8 + headerSize > file.size) throw bad("bad header size");
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(await file.read(8, headerSize)));
  } catch {
    throw bad("the header is not JSON");
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    throw bad("the header is not an object");
  }
  const start = 8 + headerSize;
  const dict = new StateDict(path);
  for (const [key, info] of Object.entries(header)) {
    if (key === "__metadata__") continue;
    const { dtype: name, shape, data_offsets: offsets } = info ?? {};
    const dtype = DTYPES.get(name);
    if (!dtype) throw file.fail(`tensor ${q(key)} has unsupported dtype ${q(name)}`);
    const counts = (v: unknown, n?: number) =>
      Array.isArray(v) && (n === undefined || v.length === n) &&
      v.every((x) => Number.isSafeInteger(x) && x >= 0);
    if (!counts(shape) || !counts(offsets, 2)) throw bad(`bad entry for ${q(key)}`);
    const [begin, end] = offsets as number[];
    const size = shapeSize(shape);
    if (end - begin !== size * DTYPE_SIZE[dtype] || start + end > file.size) {
      throw bad(`bad data offsets for ${q(key)}`);
    }
    const raw = async () => {
      const bytes = await file.read(start + begin, end - begin);
      return new RAW_ARRAY[dtype](bytes.buffer, 0, size);
    };
    dict.set(key, {
      dtype,
      shape,
      size,
      byteLength: end - begin,
      raw,
      data: async () => toFloat32(dtype, await raw()),
    });
  }
  return dict;
}

/** Options of {@linkcode writeSafetensors}. */
export interface WriteSafetensorsOptions {
  /** String pairs stored as the header's `__metadata__`. */
  metadata?: Record<string, string>;
}

/**
 * Writes a safetensors file: keys sorted, tensors stored in that order, the
 * header padded with spaces to a multiple of 8 bytes. Tensors are read and
 * written one at a time.
 *
 * @example
 * ```ts
 * import { tensorFrom, writeSafetensors } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * const w = tensorFrom({ shape: [2], data: new Float32Array([1, 2]) });
 * await writeSafetensors(path, new Map([["w", w]]), { metadata: { format: "pt" } });
 * ```
 */
export async function writeSafetensors(
  path: string,
  dict: ReadonlyMap<string, CheckpointTensor>,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const keys = [...dict.keys()].sort();
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const key of keys) {
    const t = dict.get(key)!;
    header[key] = {
      dtype: NAMES[t.dtype],
      shape: t.shape,
      data_offsets: [offset, offset + t.byteLength],
    };
    offset += t.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(8 + Math.ceil(json.length / 8) * 8).fill(0x20);
  new DataView(padded.buffer).setBigUint64(0, BigInt(padded.length - 8), true);
  padded.set(json, 8);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  const write = async (bytes: Uint8Array) => {
    for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
  };
  await write(padded);
  for (const key of keys) {
    const t = dict.get(key)!;
    const raw = await t.raw();
    if (raw.byteLength !== t.byteLength) {
      throw new RangeError(`writeSafetensors: tensor ${q(key)} has the wrong size`);
    }
    await write(bytesOf(raw));
  }
}
