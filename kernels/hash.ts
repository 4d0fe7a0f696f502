/**
 * Chris Wellons' lowbias32 integer hash, the counter-based random source of
 * the GPU kernels (augmentation noise, dropout masks) and of the test data:
 * `hash.wgsl` is the same function in WGSL, prepended to the kernels that
 * use it.
 *
 * @module
 */

import hashSource from "./hash.wgsl" with { type: "text" };

/** The WGSL definition of `fn lowbias32(v: u32) -> u32`, to prepend to a kernel's source. */
export const HASH_WGSL: string = hashSource;

/**
 * lowbias32 of a 32-bit unsigned integer.
 *
 * @example
 * ```ts
 * import { lowbias32 } from "./hash.ts";
 * console.assert(lowbias32(0) === 0 && lowbias32(1) !== 1);
 * ```
 */
export function lowbias32(v: number): number {
  v = (v ^ (v >>> 16)) >>> 0;
  v = Math.imul(v, 0x7feb352d) >>> 0;
  v = (v ^ (v >>> 15)) >>> 0;
  v = Math.imul(v, 0x846ca68b) >>> 0;
  return (v ^ (v >>> 16)) >>> 0;
}
