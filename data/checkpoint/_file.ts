/**
 * Byte ranges of a file, read on demand (internal).
 *
 * @module
 */

import { fsReason, q, UserError } from "../errors.ts";

/**
 * A file read by byte ranges. Each read opens the file, so nothing stays open
 * between reads; reads run one at a time.
 */
export class RangeFile {
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly path: string, readonly size: number) {}

  /** Stats `path`; a missing or unreadable file is a `UserError`. */
  static async open(path: string): Promise<RangeFile> {
    try {
      const info = await Deno.stat(path);
      if (!info.isFile) throw new UserError(`Cannot read ${q(path)}: not a file`);
      return new RangeFile(path, info.size);
    } catch (err) {
      if (err instanceof UserError) throw err;
      throw new UserError(`Cannot read ${q(path)}: ${fsReason(err)}`, { cause: err });
    }
  }

  /** A `UserError` "Cannot read "path": <why>". */
  fail(why: string): UserError {
    return new UserError(`Cannot read ${q(this.path)}: ${why}`);
  }

  /** Reads `length` bytes at `position` into a new array. */
  read(position: number, length: number): Promise<Uint8Array> {
    if (position + length > this.size) {
      return Promise.reject(this.fail(`file is truncated (${this.size} bytes)`));
    }
    const run = this.#queue.then(async () => {
      const bytes = new Uint8Array(length);
      using file = await Deno.open(this.path);
      await file.seek(position, Deno.SeekMode.Start);
      for (let n = 0; n < length;) {
        const got = await file.read(bytes.subarray(n));
        if (got === null) throw this.fail("file is truncated");
        n += got;
      }
      return bytes;
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/** What the first bytes of a file say it is. */
export type FileKind = "zip" | "legacy-torch" | "safetensors" | "unknown";

/**
 * Tells a zip (torch.save), a legacy torch.save file (a pickled magic
 * number) and a safetensors file (a little-endian header length, then "{")
 * apart by their first bytes.
 */
export async function sniff(file: RangeFile): Promise<FileKind> {
  const head = await file.read(0, Math.min(file.size, 9));
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 3 && head[3] === 4) {
    return "zip";
  }
  // PROTO 2, LONG1 with 10 bytes: the start of torch's legacy magic number.
  if (head.length >= 3 && head[0] === 0x80 && head[1] === 0x02 && head[2] === 0x8a) {
    return "legacy-torch";
  }
  if (head.length === 9 && head[8] === 0x7b) {
    const headerSize = new DataView(head.buffer).getBigUint64(0, true);
    if (headerSize + 8n <= BigInt(file.size)) return "safetensors";
  }
  return "unknown";
}
