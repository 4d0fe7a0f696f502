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
