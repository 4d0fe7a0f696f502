/**
 * Plain TypeScript reference for `concat` along the channel axis.
 *
 * @module
 */

/** Concatenates (N, Ci, S) value arrays along the channel axis. */
export function concatRef(
  inputs: readonly { data: Float32Array; channels: number }[],
  n: number,
  plane: number,
): Float32Array {
  const total = inputs.reduce((a, t) => a + t.channels, 0);
  const y = new Float32Array(n * total * plane);
  for (let b = 0; b < n; b++) {
    let c0 = 0;
    for (const { data, channels } of inputs) {
      for (let c = 0; c < channels; c++) {
        for (let s = 0; s < plane; s++) {
          y[((b * total) + c0 + c) * plane + s] = data[((b * channels) + c) * plane + s];
        }
      }
      c0 += channels;
    }
  }
  return y;
}

/** Splits (N, sum ci, S) values along the channel axis into (N, ci, S) arrays. */
export function splitChannelsRef(
  y: Float32Array,
  channels: readonly number[],
  n: number,
  plane: number,
): Float32Array[] {
  const total = channels.reduce((a, c) => a + c, 0);
  let c0 = 0;
  return channels.map((channels) => {
    const out = new Float32Array(n * channels * plane);
    for (let b = 0; b < n; b++) {
      for (let c = 0; c < channels; c++) {
        for (let s = 0; s < plane; s++) {
          out[(b * channels + c) * plane + s] = y[(b * total + c0 + c) * plane + s];
        }
      }
    }
    c0 += channels;
    return out;
  });
}
