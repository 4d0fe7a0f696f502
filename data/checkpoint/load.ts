/**
 * Loading a checkpoint of either format.
 *
 * @module
 */

import { RangeFile, sniff } from "./_file.ts";
import { readPth } from "./pth.ts";
import { readSafetensors } from "./safetensors.ts";
import type { StateDict } from "./tensor.ts";

/**
 * Reads a PyTorch (`torch.save` zip: `.pth`, `.pt`, `.bin`, ...) or
 * safetensors checkpoint, told apart by the file's first bytes. Tensors are
 * read when asked for.
 *
 * @throws {UserError} When the file is missing, in neither format, or
 * invalid (see {@linkcode readPth} and {@linkcode readSafetensors}).
 *
 * @example
 * ```ts
 * import { loadCheckpoint, tensorFrom, writeSafetensors } from "./mod.ts";
 * const path = await Deno.makeTempFile({ suffix: ".safetensors" });
 * await writeSafetensors(path, new Map([["w", tensorFrom({ shape: [1], data: new Float32Array(1) })]]));
 * console.assert((await loadCheckpoint(path)).has("w"));
 * ```
 */
export async function loadCheckpoint(path: string): Promise<StateDict> {
  const file = await RangeFile.open(path);
  switch (await sniff(file)) {
    case "zip":
    case "legacy-torch":
      return await readPth(path);
    case "safetensors":
      return await readSafetensors(path);
    default:
      if (/\.safetensors$/i.test(path)) return await readSafetensors(path);
      if (/\.(pth?|bin|ckpt)$/i.test(path)) return await readPth(path);
      throw file.fail("not a PyTorch or safetensors checkpoint");
  }
}
