/** Plain TypeScript reference for `add_broadcast`. @module */

/** `a[i] + b[i % b.length]`. */
export function addBroadcastRef(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((x, i) => x + b[i % b.length]);
}

/** The gradient of b in `a + b`: `dy` summed over b's repeats, in float64. */
export function broadcastSumRef(dy: Float32Array, nb: number): Float64Array {
  const db = new Float64Array(nb);
  for (let i = 0; i < dy.length; i++) db[i % nb] += dy[i];
  return db;
}
