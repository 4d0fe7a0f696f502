/** Plain TypeScript reference for `add_broadcast`. @module */

/** `a[i] + b[i % b.length]`. */
export function addBroadcastRef(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x + b[i % b.length]);
}
