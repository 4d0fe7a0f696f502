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

/** Gradients of {@linkcode layerNormRef} given dy, in float64. */
export function layerNormBackwardRef(
  x: Float32Array,
  gamma: Float32Array,
  dy: Float32Array,
  c: number,
  eps = 1e-5,
): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  const xh = new Float64Array(c);
  for (let r = 0; r < x.length / c; r++) {
    let mean = 0;
    for (let j = 0; j < c; j++) mean += x[r * c + j];
    mean /= c;
    let v = 0;
    for (let j = 0; j < c; j++) v += (x[r * c + j] - mean) ** 2;
    const rstd = 1 / Math.sqrt(v / c + eps);
    let sg = 0;
    let sgx = 0;
    for (let j = 0; j < c; j++) {
      xh[j] = (x[r * c + j] - mean) * rstd;
      const g = gamma[j] * dy[r * c + j];
      sg += g;
      sgx += g * xh[j];
      dgamma[j] += dy[r * c + j] * xh[j];
      dbeta[j] += dy[r * c + j];
    }
    for (let j = 0; j < c; j++) {
      dx[r * c + j] = rstd * (gamma[j] * dy[r * c + j] - sg / c - xh[j] * sgx / c);
    }
  }
  return { dx, dgamma, dbeta };
}
