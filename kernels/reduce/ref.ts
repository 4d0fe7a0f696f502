/**
 * Plain TypeScript reference for `reduce` (float64 sums).
 *
 * @module
 */

/** Per-channel sums of x viewed as (outer, channels, inner). */
export function channelSumRef(
  x: ArrayLike<number>,
  outer: number,
  channels: number,
  inner: number,
): Float64Array {
  const y = new Float64Array(channels);
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      let acc = 0;
      const base = (o * channels + c) * inner;
      for (let i = 0; i < inner; i++) acc += x[base + i];
      y[c] += acc;
    }
  }
  return y;
}
