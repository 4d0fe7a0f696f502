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

/** Result of {@linkcode batchNormTrainRef}. */
export interface BatchNormTrainRef {
  y: Float32Array;
  mean: Float32Array;
  invstd: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

/**
 * Training-mode BatchNorm of (N, C, plane): batch mean and biased variance,
 * running statistics updated with momentum (unbiased variance), optional ReLU.
 */
export function batchNormTrainRef(
  x: Float32Array,
  n: number,
  c: number,
  plane: number,
  p: {
    weight: Float32Array;
    bias: Float32Array;
    runningMean: Float32Array;
    runningVar: Float32Array;
  },
  o: { eps?: number; momentum?: number; relu?: boolean } = {},
): BatchNormTrainRef {
  const eps = o.eps ?? 1e-5;
  const m = o.momentum ?? 0.1;
  const count = n * plane;
  const y = new Float32Array(x.length);
  const mean = new Float32Array(c);
  const invstd = new Float32Array(c);
  const runningMean = new Float32Array(p.runningMean);
  const runningVar = new Float32Array(p.runningVar);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let b = 0; b < n; b++) {
      for (let e = 0; e < plane; e++) sum += x[(b * c + ch) * plane + e];
    }
    const mu = sum / count;
    let sq = 0;
    for (let b = 0; b < n; b++) {
      for (let e = 0; e < plane; e++) sq += (x[(b * c + ch) * plane + e] - mu) ** 2;
    }
    const is = 1 / Math.sqrt(sq / count + eps);
    mean[ch] = mu;
    invstd[ch] = is;
    runningMean[ch] = (1 - m) * p.runningMean[ch] + m * mu;
    runningVar[ch] = (1 - m) * p.runningVar[ch] + m * sq / (count - 1);
    for (let b = 0; b < n; b++) {
      for (let e = 0; e < plane; e++) {
        const i = (b * c + ch) * plane + e;
        const v = (x[i] - mu) * is * p.weight[ch] + p.bias[ch];
        y[i] = o.relu ? Math.max(v, 0) : v;
      }
    }
  }
  return { y, mean, invstd, runningMean, runningVar };
}

/**
 * Backward of training-mode BatchNorm of (N, C, plane) given the batch mean
 * and invstd; with `y` (the forward output of a fused ReLU) dy is masked by
 * y > 0.
 */
export function batchNormBackwardRef(
  x: Float32Array,
  dy: Float32Array,
  n: number,
  c: number,
  plane: number,
  p: { weight: Float32Array; mean: Float32Array; invstd: Float32Array; y?: Float32Array },
): { dx: Float32Array; dweight: Float32Array; dbias: Float32Array } {
  const count = n * plane;
  const dx = new Float32Array(x.length);
  const dweight = new Float32Array(c);
  const dbias = new Float32Array(c);
  const g = (i: number) => (p.y && !(p.y[i] > 0) ? 0 : dy[i]);
  for (let ch = 0; ch < c; ch++) {
    const [mu, is, w] = [p.mean[ch], p.invstd[ch], p.weight[ch]];
    let s1 = 0;
    let s2 = 0;
    for (let b = 0; b < n; b++) {
      for (let e = 0; e < plane; e++) {
        const i = (b * c + ch) * plane + e;
        s1 += g(i);
        s2 += g(i) * (x[i] - mu) * is;
      }
    }
    dbias[ch] = s1;
    dweight[ch] = s2;
    for (let b = 0; b < n; b++) {
      for (let e = 0; e < plane; e++) {
        const i = (b * c + ch) * plane + e;
        dx[i] = w * is / count * (count * g(i) - s1 - (x[i] - mu) * is * s2);
      }
    }
  }
  return { dx, dweight, dbias };
}
