/**
 * Plain TypeScript reference for `layer_norm` (float64, two passes).
 *
 * @module
 */

/** LayerNorm over the last dimension of (rows, C). */
export function layerNormRef(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  c: number,
  eps = 1e-5,
): Float32Array {
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / c; r++) {
    let mean = 0;
    for (let j = 0; j < c; j++) mean += x[r * c + j];
    mean /= c;
    let v = 0;
    for (let j = 0; j < c; j++) v += (x[r * c + j] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / c + eps);
    for (let j = 0; j < c; j++) y[r * c + j] = (x[r * c + j] - mean) * rstd * gamma[j] + beta[j];
  }
  return y;
}
