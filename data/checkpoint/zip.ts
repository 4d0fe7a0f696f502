/**
 * A minimal ZIP reader and a STORED-only ZIP writer, enough for PyTorch's
 * `torch.save` format.
 *
 * The reader parses the central directory (ZIP64 included) when the archive
 * is opened and reads an entry's bytes only when asked, so a large checkpoint
 * is never held in memory whole. Entries may be STORED or DEFLATE-compressed.
 *
 * @module
 */

import { crc32, inflateRawSync } from "node:zlib";
import { q } from "../errors.ts";
import { RangeFile } from "./_file.ts";

/** One file in a ZIP archive, from its central directory. */
export interface ZipEntry {
  /** Path inside the archive. */
  readonly name: string;
  /** 0 (STORED) or 8 (DEFLATE). */
  readonly method: number;
  /** Bytes as stored. */
  readonly compressedSize: number;
  /** Bytes once decompressed. */
  readonly size: number;
  /** Offset of the entry's local header in the archive. */
  readonly headerOffset: number;
}

/** An open ZIP archive; holds no file handle between reads. */
export interface ZipArchive {
  /** The file, for messages. */
  readonly path: string;
  /** The entries by name, in central-directory order. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /**
   * Reads one entry whole into a new array, decompressing it.
   *
   * @throws {UserError} When the entry is truncated or corrupt.
   */
  read(name: string): Promise<Uint8Array>;
}

const SIG = {
  local: 0x04034b50,
  central: 0x02014b50,
  end: 0x06054b50,
  end64: 0x06064b50,
  locator64: 0x07064b50,
} as const;

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const u64 = (v: DataView, at: number) => Number(v.getBigUint64(at, true));

/**
 * Opens a ZIP archive and reads its central directory.
 *
 * @throws {UserError} When the file is missing, not a ZIP archive, or
 * truncated.
 *
 * @example
 * ```ts
 * import { openZip, writeZip } from "./zip.ts";
 * const path = await Deno.makeTempFile({ suffix: ".zip" });
 * await writeZip(path, [{ name: "a/b.txt", data: new TextEncoder().encode("hi") }]);
 * const zip = await openZip(path);
 * console.assert(new TextDecoder().decode(await zip.read("a/b.txt")) === "hi");
 * ```
 */
export async function openZip(path: string): Promise<ZipArchive> {
  const file = await RangeFile.open(path);
  const entries = await readDirectory(file);
  return {
    path,
    entries,
    async read(name) {
      const entry = entries.get(name);
      if (!entry) throw new RangeError(`openZip: no entry ${q(name)} in ${q(path)}`);
      return await readEntry(file, entry);
    },
  };
}

async function readDirectory(file: RangeFile): Promise<Map<string, ZipEntry>> {
  const tailSize = Math.min(file.size, 22 + 65535);
  const tail = await file.read(file.size - tailSize, tailSize);
  const t = view(tail);
  let end = -1;
  for (let at = tailSize - 22; at >= 0 && end < 0; at--) {
    if (t.getUint32(at, true) === SIG.end) end = at;
  }
  if (end < 0) {
    const head = await file.read(0, Math.min(file.size, 4));
    const zipStart = head.length === 4 && view(head).getUint32(0, true) === SIG.local;
    throw file.fail(zipStart ? "truncated zip file (no central directory)" : "not a zip file");
  }
  let count = t.getUint16(end + 10, true);
  let dirSize = t.getUint32(end + 12, true);
  let dirOffset = t.getUint32(end + 16, true);
  if (count === 0xffff || dirSize === 0xffffffff || dirOffset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || t.getUint32(locator, true) !== SIG.locator64) {
      throw file.fail("corrupt zip file (no ZIP64 end record)");
    }
    const e64 = view(await file.read(u64(t, locator + 8), 56));
    if (e64.getUint32(0, true) !== SIG.end64) {
      throw file.fail("corrupt zip file (bad ZIP64 end record)");
    }
    count = u64(e64, 32);
    dirSize = u64(e64, 40);
    dirOffset = u64(e64, 48);
  }
  const dir = await file.read(dirOffset, dirSize);
  const d = view(dir);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  for (let i = 0, at = 0; i < count; i++) {
    if (at + 46 > dirSize || d.getUint32(at, true) !== SIG.central) {
      throw file.fail("corrupt zip file (bad central directory)");
    }
    const flags = d.getUint16(at + 8, true);
    const nameLength = d.getUint16(at + 28, true);
    const extraLength = d.getUint16(at + 30, true);
    const name = decoder.decode(dir.subarray(at + 46, at + 46 + nameLength));
    // ZIP64 extra field: the 64-bit values of the fields saturated at 0xffffffff, in order.
    const fields = [
      d.getUint32(at + 24, true),
      d.getUint32(at + 20, true),
      d.getUint32(at + 42, true),
    ];
    for (let x = at + 46 + nameLength, xEnd = x + extraLength; x + 4 <= xEnd;) {
      const id = d.getUint16(x, true);
      const length = d.getUint16(x + 2, true);
      if (id === 1) {
        for (let f = 0, v = x + 4; f < 3 && v + 8 <= x + 4 + length; f++) {
          if (fields[f] === 0xffffffff) {
            fields[f] = u64(d, v);
            v += 8;
          }
        }
      }
      x += 4 + length;
    }
    if (flags & 1) throw file.fail(`entry ${q(name)} is encrypted`);
    const [size, compressedSize, headerOffset] = fields;
    entries.set(name, {
      name,
      method: d.getUint16(at + 10, true),
      compressedSize,
      size,
      headerOffset,
    });
    at += 46 + nameLength + extraLength + d.getUint16(at + 32, true);
  }
  return entries;
}

async function readEntry(file: RangeFile, entry: ZipEntry): Promise<Uint8Array> {
  const header = view(await file.read(entry.headerOffset, 30));
  if (header.getUint32(0, true) !== SIG.local) {
    throw file.fail(`corrupt zip file (bad local header for ${q(entry.name)})`);
  }
  const start = entry.headerOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
  const stored = await file.read(start, entry.compressedSize);
  if (entry.method === 0) return stored;
  if (entry.method !== 8) {
    throw file.fail(`entry ${q(entry.name)} uses compression method ${entry.method}`);
  }
  let data: Uint8Array;
  try {
    data = inflateRawSync(stored);
  } catch (err) {
    throw file.fail(`entry ${q(entry.name)} is corrupt (${(err as Error).message})`);
  }
  if (data.length !== entry.size) throw file.fail(`entry ${q(entry.name)} is corrupt`);
  // A plain Uint8Array (not a Buffer), 8-byte aligned so that any typed array can view it.
  const plain = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return data.byteOffset % 8 ? new Uint8Array(plain) : plain;
}

/** An entry to write with {@linkcode writeZip}. */
export interface ZipInput {
  /** Path inside the archive. */
  name: string;
  /** Contents, stored uncompressed. */
  data: Uint8Array;
}

/** Entries start at multiples of this, like torch.save's, so readers can map them. */
const ALIGN = 64;

/**
 * Writes a ZIP archive of STORED entries, each entry's data aligned to 64
 * bytes (as `torch.save` does), pulling entries one at a time so that only
 * one is in memory.
 *
 * @throws {RangeError} When the archive would reach 4 GiB or 65535 entries (ZIP64 is
 * not written).
 *
 * @example
 * ```ts
 * import { writeZip } from "./zip.ts";
 * const path = await Deno.makeTempFile({ suffix: ".zip" });
 * await writeZip(path, [{ name: "x/version", data: new TextEncoder().encode("3\n") }]);
 * ```
 */
export async function writeZip(
  path: string,
  entries: Iterable<ZipInput> | AsyncIterable<ZipInput>,
): Promise<void> {
  const encoder = new TextEncoder();
  const central: Uint8Array[] = [];
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  let offset = 0;
  const write = async (bytes: Uint8Array) => {
    for (let n = 0; n < bytes.length;) n += await file.write(bytes.subarray(n));
    offset += bytes.length;
  };
  let count = 0;
  for await (const { name, data } of entries) {
    const nameBytes = encoder.encode(name);
    const padding = (ALIGN - ((offset + 30 + nameBytes.length + 4) % ALIGN)) % ALIGN;
    const extra = new Uint8Array(4 + padding).fill(0x5a); // "FB" field of "Z"s, like torch's
    view(extra).setUint16(0, 0x4246, true);
    view(extra).setUint16(2, padding, true);
    const crc = crc32(data);
    if (offset + 30 + nameBytes.length + extra.length + data.length >= 2 ** 32 || count >= 0xffff) {
      throw new RangeError(`writeZip: ${q(path)} would need ZIP64 (4 GiB or 65535 entries)`);
    }
    const local = new Uint8Array(30 + nameBytes.length);
    fillHeader(view(local), SIG.local, 4, crc, data.length, nameBytes.length, extra.length);
    local.set(nameBytes, 30);
    const entry = new Uint8Array(46 + nameBytes.length);
    const c = view(entry);
    fillHeader(c, SIG.central, 6, crc, data.length, nameBytes.length, 0);
    c.setUint16(4, 20, true); // version made by
    c.setUint32(42, offset, true);
    entry.set(nameBytes, 46);
    central.push(entry);
    await write(local);
    await write(extra);
    await write(data);
    count++;
  }
  const dirOffset = offset;
  for (const entry of central) await write(entry);
  const end = new Uint8Array(22);
  const e = view(end);
  e.setUint32(0, SIG.end, true);
  e.setUint16(8, count, true);
  e.setUint16(10, count, true);
  e.setUint32(12, offset - dirOffset, true);
  e.setUint32(16, dirOffset, true);
  await write(end);
}

/** Fills the fields a local and a central header share, `at` bytes after the signature. */
function fillHeader(
  v: DataView,
  signature: number,
  at: number,
  crc: number,
  size: number,
  nameLength: number,
  extraLength: number,
): void {
  v.setUint32(0, signature, true);
  v.setUint16(at, 20, true); // version needed
  // flags, method (STORED) and time stay 0
  v.setUint16(at + 8, 0x21, true); // date: 1980-01-01
  v.setUint32(at + 10, crc, true);
  v.setUint32(at + 14, size, true);
  v.setUint32(at + 18, size, true);
  v.setUint16(at + 22, nameLength, true);
  v.setUint16(at + 24, extraLength, true);
}
