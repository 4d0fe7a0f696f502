/**
 * The host-side 2D image shared by the data layer and the stages.
 *
 * @module
 */

/** The element types of a 2D image. */
export type ImageData = Uint8Array | Uint16Array | Float32Array;

/**
 * A 2D image in row-major order: pixel `(y, x)` is `data[y * width + x]`.
 *
 * A lazy image (see {@linkcode lazyImage}) also has `rows`, which computes or
 * reads a band of rows without holding the whole image; its `data` is then a
 * getter that materialises the image on first use. Consumers that work band
 * by band call {@linkcode imageRows}, so a scroll segment's mask and labels
 * never need to be held whole.
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
  readonly data: ImageData;
  /** Rows `[y0, y1)` as a new array or a view the caller must not change (lazy images only). */
  rows?(y0: number, y1: number): ImageData;
}

/**
 * Rows `[y0, y1)` of an image, as a view or a new array that the caller must
 * not change; reads only those rows of a lazy image.
 *
 * @example
 * ```ts
 * import { imageRows } from "./image.ts";
 * const img = { height: 3, width: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
 * console.assert(imageRows(img, 1, 2).join() === "3,4");
 * ```
 */
export function imageRows(img: Image2D, y0: number, y1: number): ImageData {
  if (!(0 <= y0 && y0 <= y1 && y1 <= img.height)) {
    throw new RangeError(`rows [${y0}, ${y1}) outside an image of ${img.height} rows`);
  }
  return img.rows ? img.rows(y0, y1) : img.data.subarray(y0 * img.width, y1 * img.width);
}

/**
 * An image whose rows are computed or read on demand by `read(y0, y1)`;
 * `data` materialises (and keeps) the whole image the first time it is used.
 *
 * @example
 * ```ts
 * import { imageRows, lazyImage } from "./image.ts";
 * const img = lazyImage(1000, 4, (y0, y1) => new Uint8Array((y1 - y0) * 4).fill(y0 % 256));
 * console.assert(imageRows(img, 7, 8)[0] === 7);
 * ```
 */
export function lazyImage(
  height: number,
  width: number,
  read: (y0: number, y1: number) => ImageData,
): Image2D {
  let whole: ImageData | undefined;
  return {
    height,
    width,
    get data() {
      return whole ??= read(0, height);
    },
    rows: (y0, y1) => whole ? whole.subarray(y0 * width, y1 * width) : read(y0, y1),
  };
}
