/**
 * Float64 reference of the seed's loss and its gradient (seed-spec 3).
 *
 * @module
 */

/**
 * Loss and dL/dz of 0.5 · BCE-with-logits + 0.5 · soft Dice for (B, L, P)
 * arrays; with `masked`, t is 0 (outside the mask: weight 0), 1 (no ink) or
 * 2 (ink), the BCE is the mean over mask pixels and the Dice sums run over them.
 */
export function bceDiceRef(
  z: ArrayLike<number>,
  labels: ArrayLike<number>,
  batch: number,
  channels: number,
  bceWeight = 0.5,
  diceWeight = 0.5,
  masked = false,
): { loss: number; grad: Float64Array } {
  const n = z.length, plane = n / (batch * channels);
  const t = Float64Array.from(labels, (v) => masked ? (v > 1.5 ? 1 : 0) : v);
  const w = Float64Array.from(labels, (v) => masked ? (v > 0.5 ? 1 : 0) : 1);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const inter = new Float64Array(channels), sp = new Float64Array(channels);
  const st = new Float64Array(channels);
  let bce = 0, count = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / plane) % channels, s = sig(z[i]);
    inter[c] += w[i] * s * t[i];
    sp[c] += w[i] * s;
    st[c] += w[i] * t[i];
    bce += w[i] * (Math.max(z[i], 0) - z[i] * t[i] + Math.log1p(Math.exp(-Math.abs(z[i]))));
    count += w[i];
  }
  if (!masked) count = n;
  count = Math.max(count, 1);
  let dice = 0;
  for (let c = 0; c < channels; c++) {
    if (st[c] > 0) dice += 1 - 2 * inter[c] / Math.max(sp[c] + st[c], 1e-7);
  }
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / plane) % channels, s = sig(z[i]);
    let d = w[i] * bceWeight * (s - t[i]) / count;
    const den = sp[c] + st[c];
    if (st[c] > 0 && den > 1e-7) {
      const ddice = -2 * w[i] * (t[i] * den - inter[c]) / (den * den);
      d += diceWeight / channels * ddice * s * (1 - s);
    }
    grad[i] = d;
  }
  return { loss: bceWeight * bce / count + diceWeight * dice / channels, grad };
}
