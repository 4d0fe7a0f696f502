/**
 * A band of rows of a volume port, as its own fragment: the `rows` parameter
 * of `read_volume` and `synthetic_fragment`, e.g. to run inference on the
 * rows a `train` node held out.
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import { imageRows, lazyImage } from "../data/image.ts";
import type { Image2D, VolumePort } from "./types.ts";

/** The `rows` parameter schema: `[y0, y1]`, half-open. */
export const rowsParam = v.optional(
  v.pipe(
    v.tuple([v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.number(), v.integer())]),
    v.check(([a, b]) => b > a, "the second row must be larger than the first"),
    v.description("Only rows [y0, y1) of the fragment (default: all)"),
  ),
);

function cropImage(img: Image2D | undefined, y0: number, y1: number): Image2D | undefined {
  if (!img) return undefined;
  if (img.rows) return lazyImage(y1 - y0, img.width, (a, b) => imageRows(img, a + y0, b + y0));
  return { height: y1 - y0, width: img.width, data: imageRows(img, y0, y1) };
}

/** Rows `[y0, y1)` of a volume port (reads go to the same source, offset). */
export function cropRows(vol: VolumePort, rows: readonly [number, number] | undefined): VolumePort {
  if (!rows) return vol;
  const [y0, y1] = rows;
  const [depth, height, width] = vol.source.shape;
  if (y1 > height) {
    throw new UserError(
      `parameter "rows" ends at ${y1}, past the ${height} rows of "${vol.source.path}"`,
    );
  }
  const src = vol.source;
  return {
    ...vol,
    source: {
      path: src.path,
      format: src.format,
      shape: [depth, y1 - y0, width],
      dtype: src.dtype,
      layers: src.layers,
      readRegion: (a, b, x0, x1) => {
        if (a < 0 || b > y1 - y0) throw new RangeError(`rows [${a}, ${b}) outside the crop`);
        return src.readRegion(a + y0, b + y0, x0, x1);
      },
      close: () => src.close(),
    },
    mask: cropImage(vol.mask, y0, y1),
    labels: cropImage(vol.labels, y0, y1),
  };
}
