/**
 * Plain TypeScript reference for `transpose`.
 *
 * @module
 */

/** (B, M, N) -> (B, N, M). */
export function transposeRef(x: Float32Array, b: number, m: number, n: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let i = 0; i < b; i++) {
    for (let r = 0; r < m; r++) {
      for (let c = 0; c < n; c++) y[(i * n + c) * m + r] = x[(i * m + r) * n + c];
    }
  }
  return y;
}
