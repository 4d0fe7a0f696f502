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
