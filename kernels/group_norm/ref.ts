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
