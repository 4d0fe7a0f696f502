/**
 * Plain TypeScript references for the `matmul` kernels (float64 sums).
 *
 * @module
 */

/** y (M, N) = x (M, K) · Wᵀ + bias with W (N, K) ("nk") or (K, N) ("kn"). */
export function linearRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  m: number,
  k: number,
  n: number,
  layout: "nk" | "kn" = "nk",
): Float32Array {
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = bias ? bias[j] : 0;
      for (let t = 0; t < k; t++) {
        s += x[i * k + t] * (layout === "nk" ? w[j * k + t] : w[t * n + j]);
      }
      y[i * n + j] = s;
    }
  }
  return y;
}

/** 1x1 convolution: x (B, Ci, HW), w (Co, Ci), bias (Co) -> (B, Co, HW). */
export function conv1x1Ref(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  batch: number,
  ci: number,
  co: number,
  hw: number,
): Float32Array {
  const y = new Float32Array(batch * co * hw);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < co; o++) {
      for (let p = 0; p < hw; p++) {
        let s = bias ? bias[o] : 0;
        for (let i = 0; i < ci; i++) s += w[o * ci + i] * x[(b * ci + i) * hw + p];
        y[(b * co + o) * hw + p] = s;
      }
    }
  }
  return y;
}
