/**
 * Small path helpers shared by the readers (internal).
 *
 * @module
 */

/** Whether a location is an http(s) URL rather than a local path. */
export function isUrl(location: string): boolean {
  return /^https?:\/\//i.test(location);
}

/** Joins a local path or URL and a relative name with one "/". */
export function joinPath(base: string, name: string): string {
  return `${base.replace(/\/+$/, "")}/${name}`;
}

/** Whether a local path exists (following links); a file's "children" do not. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (err) {
    const absent = err instanceof Deno.errors.NotFound ||
      err instanceof Deno.errors.NotADirectory;
    if (absent) return false;
    throw err;
  }
}
