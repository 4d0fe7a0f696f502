/**
 * Checkpoint tensors: their dtypes, the typed arrays that hold them, their
 * conversion to `Float32Array`, and the state dict that maps names to them.
 *
 * @module
 */

/** The element types a checkpoint may hold. */
export type Dtype = "f32" | "f16" | "bf16" | "f64" | "i64" | "i32" | "u8" | "bool";

/**
 * The array holding a tensor's values in its own dtype: `Float32Array` (f32),
 * `Float64Array` (f64), `Uint16Array` of bit patterns (f16, bf16),
 * `BigInt64Array` (i64), `Int32Array` (i32), `Uint8Array` (u8, bool as 0/1).
 */
export type RawArray =
  | Float32Array
  | Float64Array
  | Uint16Array
  | BigInt64Array
  | Int32Array
  | Uint8Array;

/** Bytes per element of each dtype. */
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  f64: 8,
  i64: 8,
  i32: 4,
  u8: 1,
  bool: 1,
};

type RawConstructor = {
  new (length: number): RawArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): RawArray;
};

/** The typed array class of each dtype. */
export const RAW_ARRAY: Readonly<Record<Dtype, RawConstructor>> = {
  f32: Float32Array,
  f16: Uint16Array,
  bf16: Uint16Array,
  f64: Float64Array,
  i64: BigInt64Array,
  i32: Int32Array,
  u8: Uint8Array,
  bool: Uint8Array,
};

/** One tensor of a checkpoint; its values are read when asked for. */
export interface CheckpointTensor {
  /** Element type as stored. */
  readonly dtype: Dtype;
  /** Dimensions, outermost first; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Number of elements (the product of `shape`). */
  readonly size: number;
  /** Bytes of the values in `dtype` (`size` times the element size). */
  readonly byteLength: number;
  /**
   * The values in their own dtype, contiguous and row-major (see
   * {@linkcode RawArray}). May return the same array on each call: copy
   * before changing it.
   */
  raw(): Promise<RawArray>;
  /** The values as 32-bit floats, converted from other dtypes. */
  data(): Promise<Float32Array>;
}

/**
 * Tensors by name, in file order, plus the file they came from (for error
 * messages; `""` for a dict built in memory).
 *
 * @example
 * ```ts
 * import { StateDict, tensorFrom } from "./tensor.ts";
 * const dict = new StateDict("m.pth", [
 *   ["bias", tensorFrom({ shape: [2], data: new Float32Array([1, 2]) })],
 * ]);
 * console.assert(dict.get("bias")?.dtype === "f32" && dict.path === "m.pth");
 * ```
 */
export class StateDict extends Map<string, CheckpointTensor> {
  /** Makes a state dict read from `path` holding `entries`. */
  constructor(
    readonly path: string,
    entries?: Iterable<readonly [string, CheckpointTensor]>,
  ) {
    super(entries);
  }
}

/** The input of {@linkcode tensorFrom}. */
export interface TensorInit {
  /** Dimensions, outermost first. */
  shape: readonly number[];
  /** Values, row-major; their length must be the product of `shape`. */
  data: RawArray;
  /** Element type; needed for `Uint16Array` (f16 or bf16) and for bool, else taken from `data`. */
  dtype?: Dtype;
}

/**
 * A tensor over values in memory (not copied), for writing checkpoints.
 *
 * @throws {RangeError} When the array does not fit the shape or the dtype.
 *
 * @example
 * ```ts
 * import { tensorFrom } from "./tensor.ts";
 * const t = tensorFrom({ shape: [2, 2], data: new Uint16Array([0x3c00, 0, 0, 0]), dtype: "f16" });
 * console.assert((await t.data())[0] === 1);
 * ```
 */
export function tensorFrom(init: TensorInit): CheckpointTensor {
  const { shape, data } = init;
  const dtype = init.dtype ?? dtypeOf(data);
  const size = shapeSize(shape);
  if (!(data instanceof RAW_ARRAY[dtype]) || data.length !== size) {
    throw new RangeError(
      `tensorFrom: a ${data.constructor.name} of ${data.length} for a ${dtype} tensor of shape ${
        formatShape(shape)
      }`,
    );
  }
  const raw = data;
  return {
    dtype,
    shape: [...shape],
    size,
    byteLength: raw.byteLength,
    raw: () => Promise.resolve(raw),
    data: () => Promise.resolve(toFloat32(dtype, raw)),
  };
}

function dtypeOf(data: RawArray): Dtype {
  for (const dtype of ["f32", "f64", "i64", "i32", "u8"] as const) {
    if (data instanceof RAW_ARRAY[dtype]) return dtype;
  }
  throw new RangeError("tensorFrom: a Uint16Array needs a dtype (f16 or bf16)");
}

/**
 * Values of a raw array as 32-bit floats: the array itself for f32, else a
 * converted copy (f64 and i64 rounded to the nearest float).
 *
 * @example
 * ```ts
 * import { toFloat32 } from "./tensor.ts";
 * console.assert(toFloat32("bf16", new Uint16Array([0x3f80]))[0] === 1);
 * ```
 */
export function toFloat32(dtype: Dtype, raw: RawArray): Float32Array {
  if (raw instanceof Float32Array) return raw;
  if (dtype === "f16") return Float32Array.from(raw as Uint16Array, (h) => halfTable()[h]);
  if (dtype === "bf16") {
    const bits = Uint32Array.from(raw as Uint16Array, (h) => h << 16);
    return new Float32Array(bits.buffer);
  }
  if (raw instanceof BigInt64Array) return Float32Array.from(raw, Number);
  return Float32Array.from(raw as ArrayLike<number>);
}

let halves: Float32Array | undefined;

/** The float value of every f16 bit pattern. */
function halfTable(): Float32Array {
  if (halves) return halves;
  halves = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    halves[h] = exp === 0
      ? sign * man * 2 ** -24
      : exp === 31
      ? (man ? NaN : sign * Infinity)
      : sign * (1 + man / 1024) * 2 ** (exp - 15);
  }
  return halves;
}

/** The number of elements of a shape. */
export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * A shape for messages: `(4, 1, 3, 3, 3)`, `(4)`, `()`.
 *
 * @example
 * ```ts
 * import { formatShape } from "./tensor.ts";
 * console.assert(formatShape([8, 1, 3]) === "(8, 1, 3)");
 * ```
 */
export function formatShape(shape: readonly number[]): string {
  return `(${shape.join(", ")})`;
}

/** A byte view of a raw array. */
export function bytesOf(raw: RawArray): Uint8Array {
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}
