/**
 * The data layer: fragment volumes (Kaggle TIFF stacks and Zarr arrays) read
 * lazily by row bands within a depth window, their masks and ink labels,
 * and the TIFF, PNG and Zarr readers and writers underneath.
 *
 * @example
 * ```ts ignore
 * import { openMaskAndLabels, openVolume } from "./data/mod.ts";
 * const volume = await openVolume("fragment1-16um", { window: { start: 0, count: 4 } });
 * const band = await volume.readRegion(0, 128, 0, volume.shape[2]);
 * const { mask, labels } = await openMaskAndLabels("fragment1-16um");
 * await volume.close();
 * ```
 *
 * @module
 */

export { fsReason, q, UserError } from "./errors.ts";
export type { Image2D } from "./image.ts";
export { openKaggle } from "./kaggle.ts";
export { readPng, writePng, type WritePngOptions } from "./png.ts";
export {
  openTiff,
  type TiffImage,
  type TiffSamples,
  writeTiff,
  type WriteTiffOptions,
} from "./tiff.ts";
export {
  type DepthWindow,
  type MaskAndLabels,
  openMaskAndLabels,
  openVolume,
  type OpenVolumeOptions,
  type VolumeDtype,
  type VolumeSource,
} from "./volume.ts";
export { checkRegion, windowLayers } from "./window.ts";
export {
  type CreateZarrOptions,
  createZarrV3,
  defaultStore,
  openZarr,
  type OpenZarrOptions,
  probeZarr,
  readZarrImage,
  type StoreFactory,
  type ZarrNode,
  type ZarrReadOptions,
  type ZarrStore,
  type ZarrWriteDtype,
  type ZarrWriter,
} from "./zarr.ts";
export { decodeNpy, encodeNpy, type NpyArray, readNpy, writeNpy } from "./npy.ts";
