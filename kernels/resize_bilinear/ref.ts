/**
 * Plain TypeScript reference for `resize_bilinear`: PyTorch's
 * upsample_bilinear2d with align_corners=False, written from its definition
 * in float64.
 *
 * @module
 */

function indices(o: number, inSize: number, outSize: number): [number, number, number] {
  const scale = inSize / outSize;
  const src = Math.max(scale * (o + 0.5) - 0.5, 0);
  const i0 = Math.min(Math.floor(src), inSize - 1);
  const i1 = Math.min(i0 + 1, inSize - 1);
  return [i0, i1, Math.min(Math.max(src - i0, 0), 1)];
}

/** (planes, H, W) -> (planes, H2, W2). */
export function resizeBilinearRef(
  x: Float32Array,
  planes: number,
  h: number,
  w: number,
  h2: number,
  w2: number,
): Float32Array {
  const y = new Float32Array(planes * h2 * w2);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < h2; oy++) {
      const [y0, y1, ly] = indices(oy, h, h2);
      for (let ox = 0; ox < w2; ox++) {
        const [x0, x1, lx] = indices(ox, w, w2);
        const at = (r: number, c: number) => x[(p * h + r) * w + c];
        y[(p * h2 + oy) * w2 + ox] = (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
          ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
      }
    }
  }
  return y;
}

/** Gradient of {@linkcode resizeBilinearRef}: dy (planes, H2, W2) scattered to (planes, H, W). */
export function resizeBilinearBackwardRef(
  dy: Float32Array,
  planes: number,
  h: number,
  w: number,
  h2: number,
  w2: number,
): Float64Array {
  const dx = new Float64Array(planes * h * w);
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < h2; oy++) {
      const [y0, y1, ly] = indices(oy, h, h2);
      for (let ox = 0; ox < w2; ox++) {
        const [x0, x1, lx] = indices(ox, w, w2);
        const g = dy[(p * h2 + oy) * w2 + ox];
        const at = (r: number, c: number) => (p * h + r) * w + c;
        dx[at(y0, x0)] += (1 - ly) * (1 - lx) * g;
        dx[at(y0, x1)] += (1 - ly) * lx * g;
        dx[at(y1, x0)] += ly * (1 - lx) * g;
        dx[at(y1, x1)] += ly * lx * g;
      }
    }
  }
  return dx;
}
