/**
 * Plain TypeScript reference for `max_pool3d` (kernel 2, stride 2, floor).
 *
 * @module
 */

/** Max-pools (N, C, D, H, W) values by 2 on each spatial axis. */
export function maxPool3dRef(x: Float32Array, shape: readonly number[]): Float32Array {
  const [n, c, d, h, w] = shape;
  const [od, oh, ow] = [d >> 1, h >> 1, w >> 1];
  const y = new Float32Array(n * c * od * oh * ow);
  let at = 0;
  for (let p = 0; p < n * c; p++) {
    for (let z = 0; z < od; z++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          let m = -Infinity;
          for (let a = 0; a < 8; a++) {
            const iz = 2 * z + (a >> 2), iy = 2 * r + ((a >> 1) & 1), ix = 2 * q + (a & 1);
            m = Math.max(m, x[((p * d + iz) * h + iy) * w + ix]);
          }
          y[at++] = m;
        }
      }
    }
  }
  return y;
}

/** Gradient of 2x2x2 max pooling: each dy to its window's first maximum of x. */
export function maxPool3dBackwardRef(
  x: Float32Array,
  dy: Float32Array,
  shape: readonly number[],
): Float32Array {
  const [n, c, d, h, w] = shape;
  const [od, oh, ow] = [d >> 1, h >> 1, w >> 1];
  const dx = new Float32Array(x.length);
  let at = 0;
  for (let p = 0; p < n * c; p++) {
    for (let z = 0; z < od; z++) {
      for (let r = 0; r < oh; r++) {
        for (let q = 0; q < ow; q++) {
          let best = -1;
          for (let a = 0; a < 8; a++) {
            const iz = 2 * z + (a >> 2), iy = 2 * r + ((a >> 1) & 1), ix = 2 * q + (a & 1);
            const i = ((p * d + iz) * h + iy) * w + ix;
            if (best < 0 || x[i] > x[best]) best = i;
          }
          dx[best] = dy[at++];
        }
      }
    }
  }
  return dx;
}
