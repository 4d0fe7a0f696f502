/**
 * A Kaggle fragment folder as a volume: `surface_volume/00.tif, 01.tif, ...`
 * (one greyscale TIFF per layer), with optional `mask.png` and
 * `inklabels.png` beside it (see {@linkcode openMaskAndLabels}).
 *
 * @module
 */

import { joinPath } from "./_util.ts";
import { fsReason, q, UserError } from "./errors.ts";
import { openTiff, type TiffImage } from "./tiff.ts";
import type { DepthWindow, VolumeSource } from "./volume.ts";
import { checkRegion, windowLayers } from "./window.ts";

/**
 * Opens a Kaggle fragment folder as a volume restricted to `window`.
 *
 * The slices are named by layer number, zero-padded to any width
 * (`00.tif` or `0000.tif` or `0.tif`, `.tif` or `.tiff`) and must number
 * 0, 1, 2, ... without gaps. Opening reads every slice's header and checks
 * that all have the same size and bit depth; the window's slices stay open,
 * and a read takes only its rows from each of them.
 *
 * @throws {UserError} When the folder or `surface_volume/` is missing, a
 * slice is missing from the sequence, slices differ in size or bit depth, a
 * slice cannot be read, or the window reaches past the last layer.
 *
 * @example
 * ```ts ignore
 * import { openKaggle } from "./kaggle.ts";
 * const volume = await openKaggle("train/1", { start: 24, count: 16 });
 * const band = await volume.readRegion(0, 64, 0, volume.shape[2]); // (16, 64, width)
 * await volume.close();
 * ```
 */
export async function openKaggle(
  path: string,
  window: DepthWindow = { start: 0 },
): Promise<VolumeSource> {
  const folder = joinPath(path, "surface_volume");
  const names = await sliceNames(path, folder);
  const layers = windowLayers(window, names.length, folder);
  const slices: TiffImage[] = [];
  try {
    for (const name of names) {
      slices.push(await openTiff(joinPath(folder, name)));
    }
    for (const slice of slices) {
      const differ = (describe: (s: TiffImage) => string) =>
        describe(slice) !== describe(slices[0]) &&
        new UserError(
          `Cannot read ${q(slice.path)}: slice is ${describe(slice)} but ${q(names[0])} is ${
            describe(slices[0])
          }`,
        );
      const error = differ((s) => `${s.width}x${s.height}`) ||
        differ((s) => `${s.bitsPerSample}-bit`);
      if (error) throw error;
    }
  } catch (err) {
    slices.forEach((slice) => slice.close());
    throw err;
  }
  const open = layers.map((layer) => slices[layer]);
  slices.forEach((slice) => open.includes(slice) || slice.close());
  const [{ width, height, bitsPerSample }] = open;
  return {
    path,
    format: "kaggle-tiff",
    shape: [layers.length, height, width],
    dtype: bitsPerSample === 8 ? "uint8" : "uint16",
    layers,
    async readRegion(y0, y1, x0, x1) {
      checkRegion(y0, y1, x0, x1, height, width);
      const size = (y1 - y0) * (x1 - x0);
      const out = bitsPerSample === 8
        ? new Uint8Array(layers.length * size)
        : new Uint16Array(layers.length * size);
      await Promise.all(
        open.map(async (slice, i) => out.set(await slice.readRows(y0, y1, x0, x1), i * size)),
      );
      return out;
    },
    close() {
      open.forEach((slice) => slice.close());
      return Promise.resolve();
    },
  };
}

/** The slice file names of `folder`, in layer order, checked for gaps. */
async function sliceNames(path: string, folder: string): Promise<string[]> {
  try {
    if (!(await Deno.stat(path)).isDirectory) {
      throw new UserError(`Cannot open ${q(path)}: not a folder`);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const reason = err instanceof Deno.errors.NotFound ? "no such file or folder" : fsReason(err);
    throw new UserError(`Cannot open ${q(path)}: ${reason}`, { cause: err });
  }
  const byLayer = new Map<number, string>();
  try {
    for await (const entry of Deno.readDir(folder)) {
      const match = /^(\d+)\.tiff?$/i.exec(entry.name);
      if (!entry.isFile || !match) continue;
      const layer = Number(match[1]);
      const other = byLayer.get(layer);
      if (other) {
        throw new UserError(
          `Cannot open ${q(folder)}: ${q(other)} and ${q(entry.name)} are both layer ${layer}`,
        );
      }
      byLayer.set(layer, entry.name);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    const absent = err instanceof Deno.errors.NotFound ||
      err instanceof Deno.errors.NotADirectory;
    throw new UserError(
      absent
        ? `Cannot open ${
          q(path)
        }: no surface_volume folder (a Kaggle fragment has surface_volume/00.tif, 01.tif, ...)`
        : `Cannot open ${q(folder)}: ${fsReason(err)}`,
      { cause: err },
    );
  }
  if (byLayer.size === 0) {
    throw new UserError(`Cannot open ${q(folder)}: no numbered .tif slices`);
  }
  const names = [...byLayer.keys()].sort((a, b) => a - b).map((layer) => byLayer.get(layer)!);
  const missing = names.findIndex((_, i) => !byLayer.has(i));
  if (missing >= 0) {
    const [sample] = names;
    const width = names.every((n) => n.length === sample.length) ? sample.indexOf(".") : 1;
    const name = String(missing).padStart(width, "0") +
      sample.slice(sample.indexOf("."));
    throw new UserError(
      `Cannot open ${q(folder)}: slice ${q(name)} is missing (found ${names.length} slices up to ${
        q(names.at(-1))
      })`,
    );
  }
  return names;
}
