/**
 * Plain TypeScript reference for the `tile_crop` kernel.
 *
 * @module
 */

import type { NormalizeMode } from "./mod.ts";

/** Normalises one integer voxel value as the kernel does. */
export function normalizeRef(v: number, mode: NormalizeMode, bits: 8 | 16): number {
  if (bits === 8 && mode !== "none") return v / 255;
  switch (mode) {
    case "seed":
      return (v >> 8) / 255;
    case "u16":
      return v / 65535;
    case "u8":
      return v / 255;
    case "none":
      return v;
  }
}

/**
 * Crops a (D, T, T) float tile at (y0, x0) out of a (D, H, W) volume,
 * with zeros past the edge.
 */
export function tileCropRef(
  volume: Uint8Array | Uint16Array,
  shape: [number, number, number],
  tile: number,
  origin: [number, number],
  mode: NormalizeMode,
): Float32Array {
  const [d, h, w] = shape;
  const bits = volume instanceof Uint8Array ? 8 : 16;
  const out = new Float32Array(d * tile * tile);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < tile; y++) {
      const gy = origin[0] + y;
      if (gy >= h) continue;
      for (let x = 0; x < tile; x++) {
        const gx = origin[1] + x;
        if (gx >= w) continue;
        out[(z * tile + y) * tile + x] = normalizeRef(volume[(z * h + gy) * w + gx], mode, bits);
      }
    }
  }
  return out;
}
