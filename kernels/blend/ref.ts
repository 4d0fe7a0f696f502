/**
 * Plain TypeScript reference for tile blending: uniform weights (the seed)
 * or a Gaussian window, crop to the fragment, never-covered pixels 0.
 *
 * @module
 */

import { type BlendWindow, windowWeight } from "./mod.ts";

/**
 * Blends (C, T, T) tile maps placed at their origins into a (C, H, W)
 * weighted-mean map, in float64.
 */
export function blendRef(
  tiles: { map: Float32Array; origin: [number, number] }[],
  channels: number,
  tile: number,
  height: number,
  width: number,
  window: BlendWindow = { kind: "uniform" },
): Float32Array {
  const sum = new Float64Array(channels * height * width);
  const count = new Float64Array(height * width);
  for (const { map, origin: [y0, x0] } of tiles) {
    for (let y = 0; y < tile && y0 + y < height; y++) {
      for (let x = 0; x < tile && x0 + x < width; x++) {
        const at = (y0 + y) * width + x0 + x;
        const w = windowWeight(window, tile, y, x);
        count[at] += w;
        for (let c = 0; c < channels; c++) {
          sum[c * height * width + at] += w * map[(c * tile + y) * tile + x];
        }
      }
    }
  }
  const out = new Float32Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const n = count[i % (height * width)];
    out[i] = n > 0 ? sum[i] / n : 0;
  }
  return out;
}
