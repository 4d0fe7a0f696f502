/**
 * The volume abstraction: a (depth, height, width) stack of integer layers,
 * read lazily by row bands so that a fragment never has to fit in memory.
 *
 * Implementations: a Kaggle fragment folder (`surface_volume/NN.tif`) and a
 * Zarr v2/v3 array (zarrita). Both apply a depth window (first layer, count,
 * optional reversal) and read only the chunks, strips and layers needed.
 *
 * @module
 */

import { exists, isUrl, joinPath } from "./_util.ts";
import { q, UserError } from "./errors.ts";
import type { Image2D } from "./image.ts";
import { openKaggle } from "./kaggle.ts";
import { readPng } from "./png.ts";
import { openZarr, probeZarr, readZarrImage, type ZarrReadOptions } from "./zarr.ts";

/** Integer element types a volume can hold. */
export type VolumeDtype = "uint8" | "uint16";

/** Which layers of a stack to read. */
export interface DepthWindow {
  /** First layer (0-based) of the window. */
  start: number;
  /** Number of layers; omitted means "to the last layer". */
  count?: number;
  /** Read the window bottom-up (last layer first). */
  reverse?: boolean;
}

/** A lazily read volume, already restricted to its depth window. */
export interface VolumeSource {
  /** Where it was read from, for messages. */
  readonly path: string;
  /** A short description of the format, for the manifest ("kaggle-tiff", "zarr-v2", ...). */
  readonly format: string;
  /** (depth, height, width) of the windowed volume. */
  readonly shape: readonly [number, number, number];
  /** Element type of {@linkcode VolumeSource.readRegion}'s arrays. */
  readonly dtype: VolumeDtype;
  /** Layers of the underlying stack that the window selected, in read order. */
  readonly layers: readonly number[];
  /**
   * Reads rows `[y0, y1)` and columns `[x0, x1)` of every windowed layer into
   * a new (depth, y1 - y0, x1 - x0) row-major array. Rows or columns past the
   * edge are an error; callers clamp.
   */
  readRegion(
    y0: number,
    y1: number,
    x0: number,
    x1: number,
  ): Promise<Uint8Array | Uint16Array>;
  /** Releases open files. */
  close(): Promise<void>;
}

/** Options for {@linkcode openVolume}. */
export interface OpenVolumeOptions extends ZarrReadOptions {
  /** Layers to read; all by default. */
  window?: DepthWindow;
  /** The array inside a Zarr group; as for {@linkcode openZarr}. */
  array?: string;
}

/**
 * Opens a fragment volume of either format: a Zarr v2/v3 array or group
 * (local folder or http(s) URL, found by its `zarr.json`, `.zarray` or
 * `.zgroup`), or a Kaggle fragment folder (one with `surface_volume/`).
 *
 * @throws {UserError} When the path is missing or in neither format, or as
 * {@linkcode openKaggle} and {@linkcode openZarr} do.
 *
 * @example
 * ```ts ignore
 * import { openVolume } from "./volume.ts";
 * const volume = await openVolume("fragment1-16um.zarr", { window: { start: 0, count: 4 } });
 * console.log(volume.format, volume.shape); // "zarr-v2" [4, 1636, 1266]
 * ```
 */
export async function openVolume(
  path: string,
  options: OpenVolumeOptions = {},
): Promise<VolumeSource> {
  if (isUrl(path) || await probeZarr(path, undefined, options)) {
    return await openZarr(path, options);
  }
  if (await exists(joinPath(path, "surface_volume"))) {
    return await openKaggle(path, options.window);
  }
  await mustExist(path);
  throw new UserError(
    `Cannot open ${
      q(path)
    }: not a Kaggle fragment folder (no surface_volume/) or a Zarr store (no zarr.json, .zarray or .zgroup)`,
  );
}

/** A fragment's 2D maps; each is absent when the input has none. */
export interface MaskAndLabels {
  /** Papyrus mask (Kaggle: 255 = papyrus). */
  mask?: Image2D;
  /** Ink labels (Kaggle: 255 = ink). */
  labels?: Image2D;
}

/**
 * Reads a fragment's mask and ink labels, if it has them: `mask.png` and
 * `inklabels.png` of a Kaggle folder (see {@linkcode readPng} for how PNGs
 * decode), or the 2D arrays "mask" and "inklabels" of a Zarr group.
 *
 * @throws {UserError} When the path is missing, or a map exists but cannot be read.
 *
 * @example
 * ```ts ignore
 * import { openMaskAndLabels } from "./volume.ts";
 * const { mask, labels } = await openMaskAndLabels("fragment1-16um");
 * ```
 */
export async function openMaskAndLabels(
  path: string,
  options: ZarrReadOptions = {},
): Promise<MaskAndLabels> {
  const root = await probeZarr(path, undefined, options);
  if (!root) await mustExist(path);
  const read = async (name: string, png: string) => {
    if (root) {
      const node = await probeZarr(path, name, options);
      return node?.kind === "array" ? await readZarrImage(path, name, options) : undefined;
    }
    const file = joinPath(path, png);
    return await exists(file) ? await readPng(file) : undefined;
  };
  const [mask, labels] = await Promise.all([
    read("mask", "mask.png"),
    read("inklabels", "inklabels.png"),
  ]);
  return { ...mask && { mask }, ...labels && { labels } };
}

async function mustExist(path: string): Promise<void> {
  if (!isUrl(path) && !await exists(path)) {
    throw new UserError(`Cannot open ${q(path)}: no such file or folder`);
  }
}
