/**
 * Plain TypeScript reference for `conv_transpose3d` (PyTorch
 * ConvTranspose3d, kernel 2, stride 2, padding 0), accumulated in float64.
 *
 * @module
 */

/**
 * Transposed convolution of `x` (N, Ci, D, H, W) with `w` (Ci, Co, 2, 2, 2)
 * (+ `bias`), giving (N, Co, 2D, 2H, 2W).
 */
export function convTranspose3dRef(
  x: Float32Array,
  xShape: readonly number[],
  w: Float32Array,
  co: number,
  bias?: Float32Array,
): Float32Array {
  const [n, ci, d, h, wd] = xShape;
  const [od, oh, ow] = [2 * d, 2 * h, 2 * wd];
  const y = new Float32Array(n * co * od * oh * ow);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let z = 0; z < od; z++) {
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++) {
            let acc = bias ? bias[o] : 0;
            const tap = ((z % 2) * 2 + (r % 2)) * 2 + (c % 2);
            const at = ((Math.floor(z / 2) * h + Math.floor(r / 2)) * wd) + Math.floor(c / 2);
            for (let i = 0; i < ci; i++) {
              acc += x[(b * ci + i) * d * h * wd + at] * w[(i * co + o) * 8 + tap];
            }
            y[(((b * co + o) * od + z) * oh + r) * ow + c] = acc;
          }
        }
      }
    }
  }
  return y;
}

/** Visits every (x index, weight index, y index) triple of a kernel-2 stride-2 conv_transpose3d. */
function eachTap(
  xShape: readonly number[],
  co: number,
  f: (xi: number, wi: number, yi: number) => void,
): void {
  const [n, ci, d, h, wd] = xShape;
  const [od, oh, ow] = [2 * d, 2 * h, 2 * wd];
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let z = 0; z < od; z++) {
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++) {
            const tap = ((z % 2) * 2 + (r % 2)) * 2 + (c % 2);
            const at = ((Math.floor(z / 2) * h + Math.floor(r / 2)) * wd) + Math.floor(c / 2);
            const yi = (((b * co + o) * od + z) * oh + r) * ow + c;
            for (let i = 0; i < ci; i++) {
              f(
                (b * ci + i) * d * h * wd + at,
                (i * co + o) * 8 + tap,
                yi,
              );
            }
          }
        }
      }
    }
  }
}

/** dx (N, Ci, D, H, W) from dy (N, Co, 2D, 2H, 2W) and w (Ci, Co, 2, 2, 2). */
export function convTranspose3dBackwardInputRef(
  dy: Float32Array,
  w: Float32Array,
  xShape: readonly number[],
  co: number,
): Float32Array {
  const dx = new Float64Array(xShape.reduce((a, b) => a * b, 1));
  eachTap(xShape, co, (xi, wi, yi) => (dx[xi] += dy[yi] * w[wi]));
  return Float32Array.from(dx);
}

/** dw (Ci, Co, 2, 2, 2) from x (N, Ci, D, H, W) and dy. */
export function convTranspose3dBackwardWeightRef(
  x: Float32Array,
  dy: Float32Array,
  xShape: readonly number[],
  co: number,
): Float32Array {
  const dw = new Float64Array(xShape[1] * co * 8);
  eachTap(xShape, co, (xi, wi, yi) => (dw[wi] += dy[yi] * x[xi]));
  return Float32Array.from(dw);
}
