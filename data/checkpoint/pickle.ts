/**
 * A pickle reader for PyTorch state dicts that executes nothing, and the
 * writer of `torch.save`'s `data.pkl`.
 *
 * The reader is a stack machine over the opcodes `torch.save` emits
 * (protocols 2 to 5). A pickle may name globals (classes and functions) for
 * the loader to call; here each name is looked up in a fixed whitelist of
 * those a state dict needs, and each of those maps to a TypeScript function
 * that builds a plain object. Any other name is refused as soon as it is read.
 *
 * Results: dicts are `Map`s, lists and tuples arrays, `None` is `null`, big
 * integers `bigint`s, bytes `Uint8Array`s; tensors are
 * {@linkcode PickledTensor}s over {@linkcode PickledStorage}s.
 *
 * @module
 */

import { q, UserError } from "../errors.ts";
import type { Dtype } from "./tensor.ts";

/** A storage named by a persistent id: its bytes are the archive entry `data/<key>`. */
export class PickledStorage {
  /** Makes the reference to storage `key` of `numel` elements of `dtype`. */
  constructor(
    readonly dtype: Dtype,
    readonly key: string,
    readonly numel: number,
  ) {}
}

/** A tensor: a strided view of a storage (`torch._utils._rebuild_tensor_v2`). */
export class PickledTensor {
  /** Makes the view; `offset` and `stride` count elements. */
  constructor(
    readonly storage: PickledStorage,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

/** Storage classes by their name in `torch`, with their dtypes. */
export const STORAGE_DTYPES: Readonly<Record<string, Dtype>> = {
  FloatStorage: "f32",
  HalfStorage: "f16",
  BFloat16Storage: "bf16",
  DoubleStorage: "f64",
  LongStorage: "i64",
  IntStorage: "i32",
  ByteStorage: "u8",
  BoolStorage: "bool",
};

/** A global from the whitelist; `call` is what REDUCE and NEWOBJ run (none for storage classes). */
class Global {
  constructor(readonly name: string, readonly call?: (args: unknown[]) => unknown) {}
}

/** The globals a state dict may name, and what calling them builds. */
function whitelist(corrupt: (why: string) => UserError): Map<string, Global> {
  const tensor = (t: unknown, what: string) => {
    if (t instanceof PickledTensor) return t;
    throw corrupt(`${what} expects a tensor`);
  };
  const calls: Record<string, (args: unknown[]) => unknown> = {
    "collections.OrderedDict": (args) =>
      new Map(args.length ? args[0] as [unknown, unknown][] : []),
    "torch._utils._rebuild_tensor_v2": ([storage, offset, shape, stride]) => {
      const dims = (v: unknown) => Array.isArray(v) && v.every(isCount);
      if (
        !(storage instanceof PickledStorage) || !isCount(offset) || !dims(shape) || !dims(stride) ||
        (shape as number[]).length !== (stride as number[]).length
      ) {
        throw corrupt("bad arguments to _rebuild_tensor_v2");
      }
      return new PickledTensor(storage, offset, shape as number[], stride as number[]);
    },
    "torch._utils._rebuild_parameter": ([data]) => tensor(data, "_rebuild_parameter"),
  };
  const globals = new Map(
    Object.entries(calls).map(([name, call]) => [name, new Global(name, call)]),
  );
  for (const name of Object.keys(STORAGE_DTYPES)) {
    globals.set(`torch.${name}`, new Global(`torch.${name}`));
  }
  return globals;
}

const ALLOWED = "collections.OrderedDict, torch._utils._rebuild_tensor_v2, " +
  "torch._utils._rebuild_parameter, torch.{" +
  Object.keys(STORAGE_DTYPES).map((s) => s.replace("Storage", "")).join(",") + "}Storage";

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINUNICODE: 0x58, // X
  BINBYTES: 0x42, // B
  SHORT_BINBYTES: 0x43, // C
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  DICT: 0x64, // d
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  LIST: 0x6c, // l
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
} as const;

/**
 * Reads a state-dict pickle from checkpoint `path` (the path is for
 * messages) without executing anything.
 *
 * @throws {UserError} When the pickle names a global outside the whitelist,
 * uses an unsupported opcode, or is malformed.
 *
 * @example
 * ```ts
 * import { pickleStateDict, PickledTensor, unpickle } from "./pickle.ts";
 * const bytes = pickleStateDict([{ key: "w", dtype: "f32", shape: [2, 3], storageKey: "0" }]);
 * const dict = unpickle(bytes, "m.pth") as Map<string, PickledTensor>;
 * console.assert(dict.get("w")?.stride.join() === "3,1");
 * ```
 */
export function unpickle(bytes: Uint8Array, path: string): unknown {
  const corrupt = (why: string) =>
    new UserError(`Cannot read ${q(path)}: corrupt data.pkl (${why})`);
  const globals = whitelist(corrupt);
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder();
  const memo = new Map<number, unknown>();
  const metastack: unknown[][] = [];
  let stack: unknown[] = [];
  let at = 0;

  const take = (n: number) => {
    if (n < 0 || at + n > bytes.length) throw corrupt("truncated");
    at += n;
    return bytes.subarray(at - n, at);
  };
  const u8 = () => take(1)[0];
  const u32 = () => data.getUint32((take(4), at - 4), true);
  const u64 = () => Number(data.getBigUint64((take(8), at - 8), true));
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) throw corrupt("truncated");
    return text.decode(take(end - at + 1).subarray(0, -1));
  };
  const pop = () => {
    if (!stack.length) throw corrupt("stack underflow");
    return stack.pop();
  };
  const top = () => {
    if (!stack.length) throw corrupt("stack underflow");
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const items = stack;
    const outer = metastack.pop();
    if (!outer) throw corrupt("no mark");
    stack = outer;
    return items;
  };
  const lookup = (module: string, name: string) => {
    const full = `${module}.${name}`;
    const found = globals.get(full);
    if (!found) {
      throw new UserError(
        `Checkpoint ${q(path)} refers to ${q(full)}, which is not allowed in a state dict ` +
          `(allowed: ${ALLOWED})`,
      );
    }
    return found;
  };
  const call = (fn: unknown, args: unknown) => {
    if (!(fn instanceof Global) || !fn.call || !Array.isArray(args)) {
      throw corrupt(`cannot call ${fn instanceof Global ? fn.name : typeof fn}`);
    }
    return fn.call(args);
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) throw corrupt("SETITEM on a non-dict");
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) throw corrupt("APPEND on a non-list");
    list.push(...items);
  };
  const int = (b: Uint8Array) => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  };

  while (true) {
    const op = u8();
    switch (op) {
      case OP.PROTO:
        u8();
        break;
      case OP.FRAME:
        u64();
        break;
      case OP.STOP:
        return pop();
      case OP.MARK:
        metastack.push(stack);
        stack = [];
        break;
      case OP.POP:
        pop();
        break;
      case OP.POP_MARK:
        popMark();
        break;
      case OP.DUP:
        stack.push(top());
        break;
      case OP.NONE:
        stack.push(null);
        break;
      case OP.NEWTRUE:
      case OP.NEWFALSE:
        stack.push(op === OP.NEWTRUE);
        break;
      case OP.BININT:
        stack.push(data.getInt32((take(4), at - 4), true));
        break;
      case OP.BININT1:
        stack.push(u8());
        break;
      case OP.BININT2:
        stack.push(data.getUint16((take(2), at - 2), true));
        break;
      case OP.LONG1:
        stack.push(int(take(u8())));
        break;
      case OP.LONG4:
        stack.push(int(take(data.getInt32((take(4), at - 4), true))));
        break;
      case OP.BINFLOAT:
        stack.push(data.getFloat64((take(8), at - 8), false));
        break;
      case OP.SHORT_BINUNICODE:
        stack.push(text.decode(take(u8())));
        break;
      case OP.BINUNICODE:
        stack.push(text.decode(take(u32())));
        break;
      case OP.BINUNICODE8:
        stack.push(text.decode(take(u64())));
        break;
      case OP.SHORT_BINBYTES:
        stack.push(take(u8()).slice());
        break;
      case OP.BINBYTES:
        stack.push(take(u32()).slice());
        break;
      case OP.BINBYTES8:
        stack.push(take(u64()).slice());
        break;
      case OP.EMPTY_DICT:
        stack.push(new Map());
        break;
      case OP.EMPTY_LIST:
      case OP.EMPTY_TUPLE:
        stack.push([]);
        break;
      case OP.TUPLE:
      case OP.LIST: {
        const items = popMark(); // before reading `stack`, which popMark replaces
        stack.push(items);
        break;
      }
      case OP.DICT: {
        const dict = new Map();
        setItems(dict, popMark());
        stack.push(dict);
        break;
      }
      case OP.TUPLE1:
      case OP.TUPLE2:
      case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1;
        if (stack.length < n) throw corrupt("stack underflow");
        stack.push(stack.splice(stack.length - n, n));
        break;
      }
      case OP.BINPUT:
        memo.set(u8(), top());
        break;
      case OP.LONG_BINPUT:
        memo.set(u32(), top());
        break;
      case OP.MEMOIZE:
        memo.set(memo.size, top());
        break;
      case OP.BINGET:
      case OP.LONG_BINGET: {
        const index = op === OP.BINGET ? u8() : u32();
        if (!memo.has(index)) throw corrupt(`memo ${index} is not set`);
        stack.push(memo.get(index));
        break;
      }
      case OP.GLOBAL: {
        const module = line();
        stack.push(lookup(module, line()));
        break;
      }
      case OP.STACK_GLOBAL: {
        const name = pop();
        const module = pop();
        if (typeof module !== "string" || typeof name !== "string") {
          throw corrupt("STACK_GLOBAL needs two strings");
        }
        stack.push(lookup(module, name));
        break;
      }
      case OP.REDUCE:
      case OP.NEWOBJ: {
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case OP.BUILD:
        // Only an OrderedDict's `_metadata` (module versions) is expected; it is dropped.
        if (!(pop(), top() instanceof Map)) throw corrupt("BUILD on a non-dict");
        break;
      case OP.SETITEM: {
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case OP.SETITEMS: {
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case OP.APPEND: {
        const item = pop();
        append(top(), [item]);
        break;
      }
      case OP.APPENDS: {
        const items = popMark();
        append(top(), items);
        break;
      }
      case OP.BINPERSID:
        stack.push(persistentLoad(pop(), corrupt));
        break;
      default:
        throw corrupt(`unsupported opcode 0x${op.toString(16)} at byte ${at - 1}`);
    }
  }
}

/** Resolves `('storage', torch.XStorage, key, location, numel)`. */
function persistentLoad(pid: unknown, corrupt: (why: string) => UserError): PickledStorage {
  if (Array.isArray(pid) && pid[0] === "storage" && pid.length === 5) {
    const [, type, key, , numel] = pid;
    const dtype = type instanceof Global
      ? STORAGE_DTYPES[type.name.slice("torch.".length)]
      : undefined;
    if (dtype && typeof key === "string" && isCount(numel)) {
      return new PickledStorage(dtype, key, numel);
    }
  }
  throw corrupt("unsupported persistent id");
}

/** A tensor for {@linkcode pickleStateDict}: contiguous, at offset 0 of its own storage. */
export interface PickleEntry {
  /** The state-dict key. */
  key: string;
  /** Element type. */
  dtype: Dtype;
  /** Dimensions. */
  shape: readonly number[];
  /** Name of the storage entry, `data/<storageKey>`. */
  storageKey: string;
}

/**
 * The `data.pkl` of a `torch.save`d state dict (pickle protocol 2, like
 * `torch.save`): an `OrderedDict` of `_rebuild_tensor_v2` calls, one
 * contiguous storage per tensor.
 *
 * @example
 * ```ts
 * import { pickleStateDict } from "./pickle.ts";
 * const bytes = pickleStateDict([{ key: "n", dtype: "i64", shape: [], storageKey: "0" }]);
 * console.assert(bytes[0] === 0x80 && bytes[bytes.length - 1] === 0x2e);
 * ```
 */
export function pickleStateDict(entries: Iterable<PickleEntry>): Uint8Array {
  const storageName = Object.fromEntries(
    Object.entries(STORAGE_DTYPES).map(([name, dtype]) => [dtype, name]),
  );
  const out: number[] = [OP.PROTO, 2];
  const encoder = new TextEncoder();
  const u32 = (n: number) => out.push(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
  const str = (s: string) => {
    const b = encoder.encode(s);
    out.push(OP.BINUNICODE);
    u32(b.length);
    out.push(...b);
  };
  const memo = new Map<string, number>();
  const global = (module: string, name: string) => {
    const index = memo.get(`${module}.${name}`);
    if (index !== undefined) return out.push(OP.LONG_BINGET), u32(index);
    out.push(OP.GLOBAL, ...encoder.encode(`${module}\n${name}\n`), OP.LONG_BINPUT);
    u32(memo.size);
    memo.set(`${module}.${name}`, memo.size);
  };
  const int = (n: number) => {
    if (n >= 0 && n < 256) return out.push(OP.BININT1, n);
    if (n >= 0 && n < 65536) return out.push(OP.BININT2, n & 0xff, n >> 8);
    if (n < 2 ** 31) return out.push(OP.BININT), u32(n);
    const b: number[] = [];
    for (let v = BigInt(n); v; v >>= 8n) b.push(Number(v & 0xffn));
    if (b[b.length - 1] & 0x80) b.push(0);
    out.push(OP.LONG1, b.length, ...b);
  };
  const tuple = (values: readonly number[]) => {
    out.push(OP.MARK);
    values.forEach(int);
    out.push(OP.TUPLE);
  };

  global("collections", "OrderedDict");
  out.push(OP.EMPTY_TUPLE, OP.REDUCE, OP.MARK);
  for (const { key, dtype, shape, storageKey } of entries) {
    const stride = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    str(key);
    global("torch._utils", "_rebuild_tensor_v2");
    out.push(OP.MARK, OP.MARK);
    str("storage");
    global("torch", storageName[dtype]);
    str(storageKey);
    str("cpu");
    int(shape.reduce((a, b) => a * b, 1));
    out.push(OP.TUPLE, OP.BINPERSID);
    int(0);
    tuple(shape);
    tuple(stride);
    out.push(OP.NEWFALSE);
    global("collections", "OrderedDict");
    out.push(OP.EMPTY_TUPLE, OP.REDUCE, OP.TUPLE, OP.REDUCE);
  }
  out.push(OP.SETITEMS, OP.STOP);
  return Uint8Array.from(out);
}
