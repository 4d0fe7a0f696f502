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

/**
 * Gradients of {@linkcode attentionRef} for separate q (B, Tq, C), k and v
 * (B, Tk, C), C = H·dh, given dout (B, Tq, C): the naive score matrix,
 * float64 throughout.
 */
export function attentionBackwardRef(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dout: Float32Array,
  b: number,
  tq: number,
  tk: number,
  heads: number,
  dh: number,
  scale: number,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const c = heads * dh;
  const dq = new Float64Array(b * tq * c);
  const dk = new Float64Array(b * tk * c);
  const dv = new Float64Array(b * tk * c);
  const pr = new Float64Array(tk);
  const dp = new Float64Array(tk);
  for (let i = 0; i < b; i++) {
    for (let h = 0; h < heads; h++) {
      const qa = (t: number, d: number) => (i * tq + t) * c + h * dh + d;
      const ka = (j: number, d: number) => (i * tk + j) * c + h * dh + d;
      for (let t = 0; t < tq; t++) {
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += q[qa(t, d)] * k[ka(j, d)];
          pr[j] = dot * scale;
          max = Math.max(max, pr[j]);
        }
        let sum = 0;
        for (let j = 0; j < tk; j++) sum += pr[j] = Math.exp(pr[j] - max);
        // dp_j = dout·v_j; D = sum_j p_j dp_j (= dout·out); ds_j = p_j (dp_j - D).
        let dsum = 0;
        for (let j = 0; j < tk; j++) {
          pr[j] /= sum;
          let dot = 0;
          for (let d = 0; d < dh; d++) dot += dout[qa(t, d)] * v[ka(j, d)];
          dp[j] = dot;
          dsum += pr[j] * dot;
        }
        for (let j = 0; j < tk; j++) {
          const ds = pr[j] * (dp[j] - dsum) * scale;
          for (let d = 0; d < dh; d++) {
            dq[qa(t, d)] += ds * k[ka(j, d)];
            dk[ka(j, d)] += ds * q[qa(t, d)];
            dv[ka(j, d)] += pr[j] * dout[qa(t, d)];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
