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
