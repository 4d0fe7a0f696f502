/**
 * Plain TypeScript reference for the `flatten_depth` kernel.
 *
 * @module
 */

import type { DepthReduce } from "./mod.ts";

/** Reduces (B, C, D, H, W) to (B, C, H, W) over depth. */
export function flattenDepthRef(
  x: Float32Array,
  shape: [number, number, number, number, number],
  reduce: DepthReduce,
): Float32Array {
  const [b, c, d, h, w] = shape;
  const plane = h * w;
  const out = new Float32Array(b * c * plane);
  for (let s = 0; s < b * c; s++) {
    for (let e = 0; e < plane; e++) {
      let acc = x[s * d * plane + e];
      for (let z = 1; z < d; z++) {
        const v = x[(s * d + z) * plane + e];
        acc = reduce === "max" ? Math.max(acc, v) : acc + v;
      }
      out[s * plane + e] = reduce === "max" ? acc : acc / d;
    }
  }
  return out;
}

/** Gradient of the max over depth: dy (B, C, H, W) at the first maximum's depth of x. */
export function flattenMaxBackwardRef(
  x: Float32Array,
  dy: Float32Array,
  shape: [number, number, number, number, number],
): Float32Array {
  const [b, c, d, h, w] = shape;
  const plane = h * w;
  const dx = new Float32Array(x.length);
  for (let s = 0; s < b * c; s++) {
    for (let e = 0; e < plane; e++) {
      let arg = 0;
      for (let z = 1; z < d; z++) {
        if (x[(s * d + z) * plane + e] > x[(s * d + arg) * plane + e]) arg = z;
      }
      dx[(s * d + arg) * plane + e] = dy[s * plane + e];
    }
  }
  return dx;
}
