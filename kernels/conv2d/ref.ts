/**
 * Plain TypeScript reference for `conv2d` (channels-first, float64 sums,
 * PyTorch semantics: zero padding, weight (Co, Ci/groups, kh, kw)).
 *
 * @module
 */

/** Convolution geometry for {@linkcode conv2dRef}. */
export interface Conv2dRefShape {
  n: number;
  ci: number;
  h: number;
  w: number;
  co: number;
  kh: number;
  kw: number;
  stride: number;
  padding: number;
  groups: number;
}

/** (N, Ci, H, W) -> (N, Co, Ho, Wo). */
export function conv2dRef(
  x: Float32Array,
  wt: Float32Array,
  bias: Float32Array | undefined,
  s: Conv2dRefShape,
): Float32Array {
  const ho = Math.floor((s.h + 2 * s.padding - s.kh) / s.stride) + 1;
  const wo = Math.floor((s.w + 2 * s.padding - s.kw) / s.stride) + 1;
  const cig = s.ci / s.groups;
  const cog = s.co / s.groups;
  const y = new Float32Array(s.n * s.co * ho * wo);
  for (let n = 0; n < s.n; n++) {
    for (let o = 0; o < s.co; o++) {
      const g = Math.floor(o / cog);
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          let acc = bias ? bias[o] : 0;
          for (let c = 0; c < cig; c++) {
            const ic = g * cig + c;
            for (let ky = 0; ky < s.kh; ky++) {
              const iy = oy * s.stride - s.padding + ky;
              if (iy < 0 || iy >= s.h) continue;
              for (let kx = 0; kx < s.kw; kx++) {
                const ix = ox * s.stride - s.padding + kx;
                if (ix < 0 || ix >= s.w) continue;
                acc += x[((n * s.ci + ic) * s.h + iy) * s.w + ix] *
                  wt[((o * cig + c) * s.kh + ky) * s.kw + kx];
              }
            }
          }
          y[((n * s.co + o) * ho + oy) * wo + ox] = acc;
        }
      }
    }
  }
  return y;
}

/** (N, C, H·W) <-> (N, H·W, C) on the host. */
export function toTokens(x: Float32Array, n: number, c: number, hw: number): Float32Array {
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < c; i++) {
      for (let p = 0; p < hw; p++) y[(b * hw + p) * c + i] = x[(b * c + i) * hw + p];
    }
  }
  return y;
}

/** Geometry of the conv2d backward references: x (N, Ci, H, W), weight (Co, Ci/groups, kh, kw). */
export interface Conv2dBackwardRefShape {
  n: number;
  ci: number;
  h: number;
  w: number;
  co: number;
  kh: number;
  kw: number;
  stride: [number, number];
  padding: [number, number];
  groups: number;
}

/**
 * Visits every (input element, weight element, output element) triple of a
 * conv2d: f(x index, weight index, y index).
 */
function eachTap(s: Conv2dBackwardRefShape, f: (xi: number, wi: number, yi: number) => void): void {
  const [sy, sx] = s.stride;
  const [py, px] = s.padding;
  const ho = Math.floor((s.h + 2 * py - s.kh) / sy) + 1;
  const wo = Math.floor((s.w + 2 * px - s.kw) / sx) + 1;
  const cig = s.ci / s.groups;
  const cog = s.co / s.groups;
  for (let n = 0; n < s.n; n++) {
    for (let o = 0; o < s.co; o++) {
      const g = Math.floor(o / cog);
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const yi = ((n * s.co + o) * ho + oy) * wo + ox;
          for (let c = 0; c < cig; c++) {
            const ic = g * cig + c;
            for (let ky = 0; ky < s.kh; ky++) {
              const iy = oy * sy - py + ky;
              if (iy < 0 || iy >= s.h) continue;
              for (let kx = 0; kx < s.kw; kx++) {
                const ix = ox * sx - px + kx;
                if (ix < 0 || ix >= s.w) continue;
                f(
                  ((n * s.ci + ic) * s.h + iy) * s.w + ix,
                  ((o * cig + c) * s.kh + ky) * s.kw + kx,
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

/** dx (N, Ci, H, W) of a conv2d from dy (N, Co, Ho, Wo) and the weight. */
export function conv2dBackwardInputRef(
  dy: Float32Array,
  wt: Float32Array,
  s: Conv2dBackwardRefShape,
): Float32Array {
  const dx = new Float64Array(s.n * s.ci * s.h * s.w);
  eachTap(s, (xi, wi, yi) => (dx[xi] += dy[yi] * wt[wi]));
  return Float32Array.from(dx);
}

/** dw (Co, Ci/groups, kh, kw) of a conv2d from x and dy. */
export function conv2dBackwardWeightRef(
  x: Float32Array,
  dy: Float32Array,
  s: Conv2dBackwardRefShape,
): Float32Array {
  const dw = new Float64Array(s.co * (s.ci / s.groups) * s.kh * s.kw);
  eachTap(s, (xi, wi, yi) => (dw[wi] += dy[yi] * x[xi]));
  return Float32Array.from(dw);
}
