/**
 * Plain TypeScript reference for `attention`: the naive score matrix, a
 * max-subtracted softmax, float64 throughout.
 *
 * @module
 */

/** A (B, T, ld) matrix and the channel offset of its head-major slice. */
export interface RefSlice {
  data: Float32Array;
  ld: number;
  offset?: number;
}

/** softmax(Q·Kᵀ·scale)·V per head -> (B, Tq, H·dh). */
export function attentionRef(
  q: RefSlice,
  k: RefSlice,
  v: RefSlice,
  b: number,
  tq: number,
  tk: number,
  heads: number,
  dh: number,
  scale: number,
): Float32Array {
  const c = heads * dh;
  const out = new Float32Array(b * tq * c);
  const s = new Float64Array(tk);
  const at = (m: RefSlice, item: number, t: number, rows: number, h: number, d: number) =>
    m.data[(item * rows + t) * m.ld + (m.offset ?? 0) + h * dh + d];
  for (let i = 0; i < b; i++) {
    for (let h = 0; h < heads; h++) {
      for (let t = 0; t < tq; t++) {
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += at(q, i, t, tq, h, d) * at(k, i, j, tk, h, d);
          s[j] = dot * scale;
          max = Math.max(max, s[j]);
        }
        let sum = 0;
        for (let j = 0; j < tk; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        for (let d = 0; d < dh; d++) {
          let acc = 0;
          for (let j = 0; j < tk; j++) acc += s[j] * at(v, i, j, tk, h, d);
          out[(i * tq + t) * c + h * dh + d] = acc / sum;
        }
      }
    }
  }
  return out;
}
