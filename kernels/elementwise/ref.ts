/**
 * Plain TypeScript reference for the `elementwise` ops.
 *
 * @module
 */

import type { Activation } from "./mod.ts";

/** act(a + b), or act(a) without `b`. */
export function elementwiseRef(
  a: Float32Array,
  b: Float32Array | undefined,
  activation: Activation = "none",
  slope = 0.01,
): Float32Array {
  return a.map((v, i) => {
    const s = b ? Math.fround(v + b[i]) : v;
    if (activation === "relu") return Math.max(s, 0);
    if (activation === "leaky_relu" && s < 0) return s * slope;
    return s;
  });
}

/** Gradient of relu / leaky_relu from the forward output y: dy where y > 0, else slope · dy. */
export function activationBackwardRef(
  y: Float32Array,
  dy: Float32Array,
  activation: "relu" | "leaky_relu",
  slope = 0.01,
): Float32Array {
  const s = activation === "relu" ? 0 : Math.fround(slope);
  return dy.map((g, i) => (y[i] > 0 ? g : Math.fround(g * s)));
}
