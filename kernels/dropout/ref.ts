/**
 * Reference of the dropout kernel: the same counter-based mask in plain
 * TypeScript.
 *
 * @module
 */

import { lowbias32 } from "../hash.ts";

/** The key of a dropout op: its step seed mixed with the op's salt (its index in the step). */
export function dropoutKey(seed: number, salt: number): number {
  return lowbias32((seed >>> 0) ^ Math.imul(salt + 1, 0x9e3779b9)) >>> 0;
}

/** y = x · keep / (1 - p) with the kernel's mask; `per` elements share a mask unit. */
export function dropoutRef(x: ArrayLike<number>, p: number, key: number, per = 1): Float32Array {
  const scale = Math.fround(1 / (1 - p));
  const pf = Math.fround(p);
  return Float32Array.from(x, (v, i) => {
    const r = Math.fround(lowbias32((Math.floor(i / per) + key) >>> 0) * (1 / 4294967296));
    return r >= pf ? Math.fround(v * scale) : 0;
  });
}
