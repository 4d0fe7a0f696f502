/**
 * PyTorch checkpoints in `torch.save`'s zip format: a lazy state-dict reader
 * and a writer that `torch.load` reads.
 *
 * @module
 */

import { q } from "../errors.ts";
import { RangeFile, sniff } from "./_file.ts";
import { PickledTensor, pickleStateDict, unpickle } from "./pickle.ts";
import {
  bytesOf,
  type CheckpointTensor,
  type Dtype,
  DTYPE_SIZE,
  RAW_ARRAY,
  type RawArray,
  shapeSize,
  StateDict,
  toFloat32,
} from "./tensor.ts";
import { openZip, writeZip, type ZipInput } from "./zip.ts";

/**
 * Reads the state dict of a `torch.save` zip file. Only the directory and
 * `data.pkl` are read now; a tensor's storage is read when its `raw()` or
 * `data()` is called (a storage several tensors view is read once for
 * them). Non-contiguous tensors come back contiguous.
 *
 * @throws {UserError} When the file is missing, not a zip-format PyTorch
 * checkpoint (legacy files included), big-endian, not a dict of tensors,
 * or names a global that a state dict does not need.
 *
 * @example
 * ```ts
 * import { readPth, tensorFrom, writePth } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".pth" });
 * await writePth(path, new Map([["w", tensorFrom({ shape: [2], data: new Float32Array([1, 2]) })]]));
 * const dict = await readPth(path);
 * console.assert((await dict.get("w")!.data()).join() === "1,2");
 * ```
 */
export async function readPth(path: string): Promise<StateDict> {
  const file = await RangeFile.open(path);
  if (await sniff(file) === "legacy-torch") {
    throw file.fail(
      "legacy PyTorch format (before 1.6), re-save it with torch.save in PyTorch 1.6 or newer",
    );
  }
  const zip = await openZip(path);
  const pickles = [...zip.entries.keys()].filter((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw file.fail(
      pickles.length ? "more than one */data.pkl" : "not a PyTorch checkpoint (no */data.pkl)",
    );
  }
  const folder = pickles[0].slice(0, -"data.pkl".length);
  if (zip.entries.has(`${folder}byteorder`)) {
    const order = new TextDecoder().decode(await zip.read(`${folder}byteorder`)).trim();
    if (order !== "little") throw file.fail(`byte order ${q(order)} is not supported`);
  }
  const top = unpickle(await zip.read(pickles[0]), path);
  if (!(top instanceof Map)) throw file.fail("not a state dict (the pickle is not a dict)");

  const views = new Map<string, number>();
  for (const [key, value] of top) {
    if (typeof key !== "string" || !(value instanceof PickledTensor)) {
      throw file.fail(`not a state dict (${q(key)} is not a tensor)`);
    }
    const { storage, offset, shape, stride } = value;
    const last = offset + shape.reduce((sum, n, i) => sum + (n - 1) * stride[i], 0);
    if (shapeSize(shape) > 0 && last >= storage.numel) {
      throw file.fail(`tensor ${q(key)} reads past the end of its storage`);
    }
    views.set(storage.key, (views.get(storage.key) ?? 0) + 1);
  }

  // Storages viewed by several tensors are kept until each of them has read it.
  const shared = new Map<string, Promise<Uint8Array>>();
  const readStorage = async (key: string, bytes: number): Promise<Uint8Array> => {
    const name = `${folder}data/${key}`;
    if (!zip.entries.has(name)) throw file.fail(`storage ${q(name)} is missing`);
    const left = views.get(key) ?? 0; // tensors still to read it, this one included
    const data = shared.get(key) ?? zip.read(name);
    if (left > 1) {
      views.set(key, left - 1);
      shared.set(key, data);
    } else {
      views.delete(key);
      shared.delete(key);
    }
    const storage = await data;
    if (storage.length < bytes) throw file.fail(`storage ${q(name)} is truncated`);
    return storage;
  };

  const dict = new StateDict(path);
  for (const [key, { storage, offset, shape, stride }] of top as Map<string, PickledTensor>) {
    const { dtype } = storage;
    dict.set(
      key,
      lazyTensor(dtype, shape, async () => {
        const bytes = await readStorage(storage.key, storage.numel * DTYPE_SIZE[dtype]);
        const all = new RAW_ARRAY[dtype](bytes.buffer, bytes.byteOffset, storage.numel);
        return strided(all, offset, shape, stride);
      }),
    );
  }
  return dict;
}

/** A tensor whose values `load` reads, once per call. */
function lazyTensor(
  dtype: Dtype,
  shape: readonly number[],
  load: () => Promise<RawArray>,
): CheckpointTensor {
  const size = shapeSize(shape);
  return {
    dtype,
    shape,
    size,
    byteLength: size * DTYPE_SIZE[dtype],
    raw: load,
    data: async () => toFloat32(dtype, await load()),
  };
}

/** The elements of a strided view of `all`, copied into a new contiguous array. */
function strided(
  all: RawArray,
  offset: number,
  shape: readonly number[],
  stride: readonly number[],
): RawArray {
  const size = shapeSize(shape);
  const contiguous = shape.every((n, i) => n === 1 || stride[i] === shapeSize(shape.slice(i + 1)));
  if (contiguous) return all.slice(offset, offset + size);
  const out = new (all.constructor as new (n: number) => RawArray)(size);
  const index = new Array(shape.length).fill(0);
  for (let i = 0, at = offset; i < size; i++) {
    out[i] = all[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      at += stride[d];
      if (++index[d] < shape[d]) break;
      at -= stride[d] * shape[d];
      index[d] = 0;
    }
  }
  return out;
}

/**
 * Writes a state dict as `torch.save` would (zip format, pickle protocol
 * 2, `archive/data.pkl`, one STORED `archive/data/<n>` storage per tensor,
 * `archive/version` and `archive/byteorder`), so that `torch.load` reads it.
 * Tensors are read and written one at a time.
 *
 * @example
 * ```ts
 * import { tensorFrom, writePth } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".pth" });
 * const bias = tensorFrom({ shape: [3], data: new Float32Array([0.5, 1, 2]) });
 * await writePth(path, new Map([["conv.bias", bias]]));
 * ```
 */
export async function writePth(
  path: string,
  dict: ReadonlyMap<string, CheckpointTensor>,
): Promise<void> {
  const tensors = [...dict];
  const text = (s: string) => new TextEncoder().encode(s);
  async function* entries(): AsyncGenerator<ZipInput> {
    yield {
      name: "archive/data.pkl",
      data: pickleStateDict(
        tensors.map(([key, t], i) => ({ key, dtype: t.dtype, shape: t.shape, storageKey: `${i}` })),
      ),
    };
    yield { name: "archive/byteorder", data: text("little") };
    for (const [i, [key, tensor]] of tensors.entries()) {
      const raw = await tensor.raw();
      if (raw.length !== tensor.size) {
        throw new RangeError(`writePth: tensor ${q(key)} has the wrong size`);
      }
      yield { name: `archive/data/${i}`, data: bytesOf(raw) };
    }
    yield { name: "archive/version", data: text("3\n") };
  }
  await writeZip(path, entries());
}
