/**
 * Float64 reference of the seed's loss and its gradient (seed-spec 3).
 *
 * @module
 */

/** Loss and dL/dz of 0.5 · BCE-with-logits + 0.5 · soft Dice for (B, L, P) arrays. */
export function bceDiceRef(
  z: ArrayLike<number>,
  t: ArrayLike<number>,
  batch: number,
  channels: number,
  bceWeight = 0.5,
  diceWeight = 0.5,
): { loss: number; grad: Float64Array } {
  const n = z.length, plane = n / (batch * channels);
  const sig = (x: number) => 1 / (1 + Math.exp(-x));
  const inter = new Float64Array(channels), sp = new Float64Array(channels);
  const st = new Float64Array(channels);
  let bce = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / plane) % channels, s = sig(z[i]);
    inter[c] += s * t[i];
    sp[c] += s;
    st[c] += t[i];
    bce += Math.max(z[i], 0) - z[i] * t[i] + Math.log1p(Math.exp(-Math.abs(z[i])));
  }
  let dice = 0;
  for (let c = 0; c < channels; c++) {
    if (st[c] > 0) dice += 1 - 2 * inter[c] / Math.max(sp[c] + st[c], 1e-7);
  }
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / plane) % channels, s = sig(z[i]);
    let d = bceWeight * (s - t[i]) / n;
    const den = sp[c] + st[c];
    if (st[c] > 0 && den > 1e-7) {
      d += diceWeight / channels * (-2 * (t[i] * den - inter[c]) / (den * den)) * s * (1 - s);
    }
    grad[i] = d;
  }
  return { loss: bceWeight * bce / n + diceWeight * dice / channels, grad };
}
