/**
 * Atomic outputs: a stage writes to a temporary path beside the final one
 * (`<dir>/.<name>.partial-<pid>`, a file or a folder such as `x.zarr`), and
 * the engine renames it into place only when the write finished, so an
 * output that exists under its final name is always complete.
 *
 * @module
 */

import { basename, dirname, isAbsolute, join, normalize } from "node:path";

/** Where a run's outputs go, and which ones it has written. */
export class OutputFolder {
  /** Absolute output folder. */
  readonly dir: string;
  /** Outputs renamed into place so far, relative to `dir`. */
  readonly written: string[] = [];
  /** Set when the run failed: writes still in flight are then discarded. */
  aborted = false;

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Runs `write` on a temporary path and renames the result to `relPath`.
   * On failure (or when the run was aborted meanwhile) the temporary file or
   * folder is removed and the error is rethrown. Returns the final path.
   *
   * @example
   * ```ts ignore
   * const out = new OutputFolder("/tmp/run");
   * await out.write("pred.png", (tmp) => Deno.writeFile(tmp, png));
   * ```
   */
  async write(
    relPath: string,
    write: (tmpPath: string) => Promise<void>,
  ): Promise<string> {
    const rel = normalize(relPath);
    if (
      isAbsolute(relPath) || rel === ".." || rel.startsWith("../") ||
      rel === "."
    ) {
      throw new Error(
        `Output path ${JSON.stringify(relPath)} is not inside the output folder`,
      );
    }
    const final = join(this.dir, rel);
    await Deno.mkdir(dirname(final), { recursive: true });
    const tmp = join(dirname(final), `.${basename(final)}.partial-${Deno.pid}`);
    await removeIfExists(tmp);
    try {
      await write(tmp);
      if (this.aborted) throw new Error("Run aborted");
      // rename() replaces a file atomically but not a non-empty folder.
      if (await isDirectory(final)) await removeIfExists(final);
      await Deno.rename(tmp, final);
    } catch (e) {
      await removeIfExists(tmp);
      throw e;
    }
    if (!this.written.includes(rel)) this.written.push(rel);
    return final;
  }

  /** Removes every output this run renamed into place (after a failure). */
  async removeWritten(): Promise<string[]> {
    const removed = this.written.splice(0);
    for (const rel of removed) await removeIfExists(join(this.dir, rel));
    return removed;
  }
}

/** Writes a text file through a temporary file and a rename. */
export async function writeFileAtomic(
  path: string,
  text: string,
): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.partial-${Deno.pid}`);
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await removeIfExists(tmp);
    throw e;
  }
}

/** Removes a file or folder, ignoring one that does not exist. */
export async function removeIfExists(path: string): Promise<void> {
  try {
    await Deno.remove(path, { recursive: true });
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isDirectory;
  } catch {
    return false;
  }
}
