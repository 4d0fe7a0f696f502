/**
 * Helpers for the data tests: small generated stacks with known voxels.
 *
 * @module
 */

import { writeTiff } from "./tiff.ts";

/** The voxel at (z, y, x) of every generated stack. */
export function voxel(
  z: number,
  y: number,
  x: number,
  bits: 8 | 16 = 16,
): number {
  return (z * 7919 + y * 257 + x * 31) & (bits === 8 ? 0xff : 0xffff);
}

/** The voxels of layers `layers`, rows `[y0, y1)` and columns `[x0, x1)`, in order. */
export function voxels(
  layers: readonly number[],
  [y0, y1, x0, x1]: readonly [number, number, number, number],
  bits: 8 | 16 = 16,
): number[] {
  const out = [];
  for (const z of layers) {
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) out.push(voxel(z, y, x, bits));
    }
  }
  return out;
}

/** Layers, height, width and bit depth of a generated stack. */
export interface StackSpec {
  depth: number;
  height: number;
  width: number;
  bits?: 8 | 16;
  /** File name of a layer; "00.tif", "01.tif", ... by default. */
  name?: (z: number) => string;
  rowsPerStrip?: number;
}

/** Writes a Kaggle fragment folder `dir/surface_volume/*.tif` of {@linkcode voxel}s. */
export async function writeStack(dir: string, spec: StackSpec): Promise<void> {
  const { depth, height, width, bits = 16, rowsPerStrip } = spec;
  const name = spec.name ??
    ((z: number) => `${String(z).padStart(2, "0")}.tif`);
  await Deno.mkdir(`${dir}/surface_volume`, { recursive: true });
  for (let z = 0; z < depth; z++) {
    const values = voxels([z], [0, height, 0, width], bits);
    const data = bits === 8 ? Uint8Array.from(values) : Uint16Array.from(values);
    await writeTiff(`${dir}/surface_volume/${name(z)}`, width, height, data, {
      rowsPerStrip,
    });
  }
}
