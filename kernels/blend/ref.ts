/**
 * Plain TypeScript reference for tile blending: uniform weights, crop to the
 * fragment, never-covered pixels 0.
 *
 * @module
 */

/**
 * Blends (C, T, T) tile maps placed at their origins into a (C, H, W) mean map.
 */
export function blendRef(
  tiles: { map: Float32Array; origin: [number, number] }[],
  channels: number,
  tile: number,
  height: number,
  width: number,
): Float32Array {
  const sum = new Float64Array(channels * height * width);
  const count = new Float64Array(height * width);
  for (const { map, origin: [y0, x0] } of tiles) {
    for (let y = 0; y < tile && y0 + y < height; y++) {
      for (let x = 0; x < tile && x0 + x < width; x++) {
        const at = (y0 + y) * width + x0 + x;
        count[at]++;
        for (let c = 0; c < channels; c++) {
          sum[c * height * width + at] += map[(c * tile + y) * tile + x];
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
