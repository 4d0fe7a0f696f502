/**
 * A volume held in memory: for tests, small generated inputs and fixtures.
 *
 * @module
 */

import type { VolumeSource } from "./volume.ts";

/**
 * Wraps a (depth, height, width) row-major array as a {@linkcode VolumeSource}.
 *
 * @example
 * ```ts
 * import { memoryVolume } from "./memory_volume.ts";
 * const vol = memoryVolume(new Uint16Array(2 * 3 * 4), [2, 3, 4]);
 * const rows = await vol.readRegion(1, 3, 0, 4);
 * console.assert(rows.length === 2 * 2 * 4);
 * ```
 */
export function memoryVolume(
  data: Uint8Array | Uint16Array,
  shape: readonly [number, number, number],
  path = "memory",
): VolumeSource {
  const [d, h, w] = shape;
  if (data.length !== d * h * w) {
    throw new Error(
      `Volume data has ${data.length} elements, shape [${shape}] needs ${d * h * w}`,
    );
  }
  return {
    path,
    format: "memory",
    shape,
    dtype: data instanceof Uint8Array ? "uint8" : "uint16",
    layers: Array.from({ length: d }, (_, i) => i),
    readRegion(y0, y1, x0, x1) {
      if (y0 < 0 || x0 < 0 || y1 > h || x1 > w || y0 > y1 || x0 > x1) {
        return Promise.reject(
          new RangeError(
            `Region [${y0}, ${y1}) x [${x0}, ${x1}) is outside ${h}x${w}`,
          ),
        );
      }
      const rows = y1 - y0;
      const cols = x1 - x0;
      const out = new (data.constructor as Uint16ArrayConstructor)(
        d * rows * cols,
      );
      for (let z = 0; z < d; z++) {
        for (let y = 0; y < rows; y++) {
          const src = (z * h + y0 + y) * w + x0;
          out.set(data.subarray(src, src + cols), (z * rows + y) * cols);
        }
      }
      return Promise.resolve(out);
    },
    close: () => Promise.resolve(),
  };
}
