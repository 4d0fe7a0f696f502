/**
 * Plain TypeScript reference for `conv_transpose2d`, written as PyTorch
 * defines it: a scatter of every input pixel times the kernel.
 *
 * @module
 */

/** x (N, Ci, H, W), w (Ci, Co, kh, kw) -> (N, Co, Ho, Wo). */
export function convTranspose2dRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  shape: {
    n: number;
    ci: number;
    h: number;
    wd: number;
    co: number;
    k: number;
    s: number;
    p: number;
  },
): Float32Array {
  const { n, ci, h, wd, co, k, s, p } = shape;
  const ho = (h - 1) * s - 2 * p + k, wo = (wd - 1) * s - 2 * p + k;
  const y = new Float64Array(n * co * ho * wo);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < ho * wo; i++) y[(b * co + o) * ho * wo + i] = bias ? bias[o] : 0;
    }
    for (let c = 0; c < ci; c++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const v = x[((b * ci + c) * h + iy) * wd + ix];
          for (let o = 0; o < co; o++) {
            for (let ky = 0; ky < k; ky++) {
              const oy = iy * s - p + ky;
              if (oy < 0 || oy >= ho) continue;
              for (let kx = 0; kx < k; kx++) {
                const ox = ix * s - p + kx;
                if (ox < 0 || ox >= wo) continue;
                y[((b * co + o) * ho + oy) * wo + ox] += v * w[((c * co + o) * k + ky) * k + kx];
              }
            }
          }
        }
      }
    }
  }
  return Float32Array.from(y);
}

/** Geometry of the conv_transpose2d backward references (square kernel, as the forward). */
export interface ConvTranspose2dRefShape {
  n: number;
  ci: number;
  h: number;
  wd: number;
  co: number;
  k: number;
  s: number;
  p: number;
}

/** Visits every (x index, weight index, y index) triple of a conv_transpose2d. */
function eachTap(
  shape: ConvTranspose2dRefShape,
  f: (xi: number, wi: number, yi: number) => void,
): void {
  const { n, ci, h, wd, co, k, s, p } = shape;
  const ho = (h - 1) * s - 2 * p + k, wo = (wd - 1) * s - 2 * p + k;
  for (let b = 0; b < n; b++) {
    for (let c = 0; c < ci; c++) {
      for (let iy = 0; iy < h; iy++) {
        for (let ix = 0; ix < wd; ix++) {
          const xi = ((b * ci + c) * h + iy) * wd + ix;
          for (let o = 0; o < co; o++) {
            for (let ky = 0; ky < k; ky++) {
              const oy = iy * s - p + ky;
              if (oy < 0 || oy >= ho) continue;
              for (let kx = 0; kx < k; kx++) {
                const ox = ix * s - p + kx;
                if (ox < 0 || ox >= wo) continue;
                f(xi, ((c * co + o) * k + ky) * k + kx, ((b * co + o) * ho + oy) * wo + ox);
              }
            }
          }
        }
      }
    }
  }
}

/** dx (N, Ci, H, W) of a conv_transpose2d from dy (N, Co, Ho, Wo) and w (Ci, Co, k, k). */
export function convTranspose2dBackwardInputRef(
  dy: Float32Array,
  w: Float32Array,
  shape: ConvTranspose2dRefShape,
): Float32Array {
  const dx = new Float64Array(shape.n * shape.ci * shape.h * shape.wd);
  eachTap(shape, (xi, wi, yi) => (dx[xi] += dy[yi] * w[wi]));
  return Float32Array.from(dx);
}

/** dw (Ci, Co, k, k) of a conv_transpose2d from x and dy. */
export function convTranspose2dBackwardWeightRef(
  x: Float32Array,
  dy: Float32Array,
  shape: ConvTranspose2dRefShape,
): Float32Array {
  const dw = new Float64Array(shape.ci * shape.co * shape.k * shape.k);
  eachTap(shape, (xi, wi, yi) => (dw[wi] += dy[yi] * x[xi]));
  return Float32Array.from(dw);
}
