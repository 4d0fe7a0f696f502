/**
 * Plain TypeScript reference for `conv3d` (PyTorch Conv3d: zero padding,
 * dilation 1, groups 1), accumulated in float64.
 *
 * @module
 */

/** Shapes and options of a reference convolution. */
export interface Conv3dRefArgs {
  /** Input shape (N, Ci, D, H, W). */
  x: readonly number[];
  /** Weight shape (Co, Ci, kd, kh, kw). */
  w: readonly number[];
  stride: readonly [number, number, number];
  padding: readonly [number, number, number];
}

/** Convolves `x` with `w` (+ `bias`); returns (N, Co, Do, Ho, Wo) values and the output shape. */
export function conv3dRef(
  x: Float32Array,
  w: Float32Array,
  bias: Float32Array | undefined,
  args: Conv3dRefArgs,
): { y: Float32Array; shape: number[] } {
  const [n, ci, d, h, wd] = args.x;
  const [co, , kd, kh, kw] = args.w;
  const [sd, sh, sw] = args.stride;
  const [pd, ph, pw] = args.padding;
  const od = Math.floor((d + 2 * pd - kd) / sd) + 1;
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - kw) / sw) + 1;
  const y = new Float32Array(n * co * od * oh * ow);
  let at = 0;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let z = 0; z < od; z++) {
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++) {
            let acc = bias ? bias[o] : 0;
            for (let i = 0; i < ci; i++) {
              for (let a = 0; a < kd; a++) {
                const iz = z * sd - pd + a;
                if (iz < 0 || iz >= d) continue;
                for (let e = 0; e < kh; e++) {
                  const iy = r * sh - ph + e;
                  if (iy < 0 || iy >= h) continue;
                  for (let f = 0; f < kw; f++) {
                    const ix = c * sw - pw + f;
                    if (ix < 0 || ix >= wd) continue;
                    acc += x[(((b * ci + i) * d + iz) * h + iy) * wd + ix] *
                      w[(((o * ci + i) * kd + a) * kh + e) * kw + f];
                  }
                }
              }
            }
            y[at++] = acc;
          }
        }
      }
    }
  }
  return { y, shape: [n, co, od, oh, ow] };
}

/**
 * Visits every (input element, weight element, output element) triple of a
 * conv3d: f(x index, weight index, y index).
 */
function eachTap(args: Conv3dRefArgs, f: (xi: number, wi: number, yi: number) => void): void {
  const [n, ci, d, h, wd] = args.x;
  const [co, , kd, kh, kw] = args.w;
  const [sd, sh, sw] = args.stride;
  const [pd, ph, pw] = args.padding;
  const od = Math.floor((d + 2 * pd - kd) / sd) + 1;
  const oh = Math.floor((h + 2 * ph - kh) / sh) + 1;
  const ow = Math.floor((wd + 2 * pw - kw) / sw) + 1;
  let yi = 0;
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < co; o++) {
      for (let z = 0; z < od; z++) {
        for (let r = 0; r < oh; r++) {
          for (let c = 0; c < ow; c++, yi++) {
            for (let i = 0; i < ci; i++) {
              for (let a = 0; a < kd; a++) {
                const iz = z * sd - pd + a;
                if (iz < 0 || iz >= d) continue;
                for (let e = 0; e < kh; e++) {
                  const iy = r * sh - ph + e;
                  if (iy < 0 || iy >= h) continue;
                  for (let g = 0; g < kw; g++) {
                    const ix = c * sw - pw + g;
                    if (ix < 0 || ix >= wd) continue;
                    f(
                      (((b * ci + i) * d + iz) * h + iy) * wd + ix,
                      (((o * ci + i) * kd + a) * kh + e) * kw + g,
                      yi,
                    );
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

/** dx (N, Ci, D, H, W) of a conv3d from dy (N, Co, Do, Ho, Wo) and the weight. */
export function conv3dBackwardInputRef(
  dy: Float32Array,
  w: Float32Array,
  args: Conv3dRefArgs,
): Float32Array {
  const dx = new Float64Array(args.x.reduce((a, b) => a * b, 1));
  eachTap(args, (xi, wi, yi) => (dx[xi] += dy[yi] * w[wi]));
  return Float32Array.from(dx);
}

/** dw (Co, Ci, kd, kh, kw) of a conv3d from x and dy. */
export function conv3dBackwardWeightRef(
  x: Float32Array,
  dy: Float32Array,
  args: Conv3dRefArgs,
): Float32Array {
  const dw = new Float64Array(args.w.reduce((a, b) => a * b, 1));
  eachTap(args, (xi, wi, yi) => (dw[wi] += dy[yi] * x[xi]));
  return Float32Array.from(dw);
}
