/**
 * Plain TypeScript reference for `batch_norm` (eval mode).
 *
 * @module
 */

/** BatchNorm of (N, C, plane) with gamma, beta, mean, var packed (4, C). */
export function batchNormRef(
  x: Float32Array,
  stats: Float32Array,
  n: number,
  c: number,
  plane: number,
  eps = 1e-5,
  relu = false,
): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < n * c; i++) {
    const ch = i % c;
    const [g, b, m, v] = [stats[ch], stats[c + ch], stats[2 * c + ch], stats[3 * c + ch]];
    for (let e = 0; e < plane; e++) {
      const r = (x[i * plane + e] - m) / Math.sqrt(v + eps) * g + b;
      y[i * plane + e] = relu ? Math.max(r, 0) : r;
    }
  }
  return y;
}
