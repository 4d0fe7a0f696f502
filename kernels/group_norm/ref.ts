/**
 * Plain TypeScript reference for `group_norm` (PyTorch GroupNorm: biased
 * variance, two passes in float64).
 *
 * @module
 */

import type { Activation } from "../elementwise/mod.ts";

/** Group-normalises (N, C, S) values; `gamma`/`beta` are per channel. */
export function groupNormRef(
  x: Float32Array,
  n: number,
  c: number,
  groups: number,
  opts: {
    eps?: number;
    gamma?: Float32Array;
    beta?: Float32Array;
    activation?: Activation;
    slope?: number;
  } = {},
): Float32Array {
  const s = x.length / (n * c);
  const per = c / groups;
  const m = per * s;
  const eps = opts.eps ?? 1e-5;
  const slope = opts.slope ?? 0.01;
  const y = new Float32Array(x.length);
  for (let gi = 0; gi < n * groups; gi++) {
    const start = gi * m;
    let sum = 0;
    for (let i = 0; i < m; i++) sum += x[start + i];
    const mean = sum / m;
    let sq = 0;
    for (let i = 0; i < m; i++) sq += (x[start + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / m + eps);
    for (let i = 0; i < m; i++) {
      const ch = ((gi % groups) * per) + Math.floor(i / s);
      let v = (x[start + i] - mean) * rstd;
      if (opts.gamma && opts.beta) v = v * opts.gamma[ch] + opts.beta[ch];
      if (opts.activation === "relu") v = Math.max(v, 0);
      if (opts.activation === "leaky_relu" && v < 0) v *= slope;
      y[start + i] = v;
    }
  }
  return y;
}

/**
 * Backward of {@linkcode groupNormRef} (same options) given the upstream
 * gradient `dy`: dx, and dgamma, dbeta (zeros without affine). The
 * activation's derivative is PyTorch's: relu 1 where the pre-activation is
 * > 0, leaky_relu 1 there and `slope` elsewhere.
 */
export function groupNormBackwardRef(
  x: Float32Array,
  dy: Float32Array,
  n: number,
  c: number,
  groups: number,
  opts: {
    eps?: number;
    gamma?: Float32Array;
    beta?: Float32Array;
    activation?: Activation;
    slope?: number;
  } = {},
): { dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const s = x.length / (n * c);
  const per = c / groups;
  const m = per * s;
  const eps = opts.eps ?? 1e-5;
  const slope = opts.slope ?? 0.01;
  const dx = new Float32Array(x.length);
  const dgamma = new Float32Array(c);
  const dbeta = new Float32Array(c);
  const xhat = new Float64Array(m);
  const dxhat = new Float64Array(m);
  for (let gi = 0; gi < n * groups; gi++) {
    const start = gi * m;
    let sum = 0;
    for (let i = 0; i < m; i++) sum += x[start + i];
    const mean = sum / m;
    let sq = 0;
    for (let i = 0; i < m; i++) sq += (x[start + i] - mean) ** 2;
    const rstd = 1 / Math.sqrt(sq / m + eps);
    let a = 0;
    let b = 0;
    for (let i = 0; i < m; i++) {
      const ch = (gi % groups) * per + Math.floor(i / s);
      const [ga, be] = opts.gamma && opts.beta ? [opts.gamma[ch], opts.beta[ch]] : [1, 0];
      xhat[i] = (x[start + i] - mean) * rstd;
      const v = xhat[i] * ga + be;
      let dv = dy[start + i];
      if (opts.activation === "relu" && !(v > 0)) dv = 0;
      if (opts.activation === "leaky_relu" && !(v > 0)) dv *= slope;
      dbeta[ch] += dv;
      dgamma[ch] += dv * xhat[i];
      dxhat[i] = dv * ga;
      a += dxhat[i];
      b += dxhat[i] * xhat[i];
    }
    for (let i = 0; i < m; i++) dx[start + i] = rstd * (dxhat[i] - a / m - xhat[i] * b / m);
  }
  return { dx, dgamma, dbeta };
}
