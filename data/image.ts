/**
 * The host-side 2D image shared by the data layer and the stages.
 *
 * @module
 */

/**
 * A 2D image in row-major order: pixel `(y, x)` is `data[y * width + x]`.
 *
 * @example
 * ```ts
 * import type { Image2D } from "./image.ts";
 * const image: Image2D = { height: 2, width: 3, data: new Uint8Array(6) };
 * console.assert(image.data.length === image.height * image.width);
 * ```
 */
export interface Image2D {
  /** Rows. */
  height: number;
  /** Columns. */
  width: number;
  /** `height * width` values, row by row. */
  data: Uint8Array | Uint16Array | Float32Array;
}
