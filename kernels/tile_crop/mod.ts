/**
 * `tile_crop` kernel launcher: crops tiles out of a row band of integer
 * voxels held on the GPU as a ring of rows, normalising them to float32.
 *
 * @module
 */

import source from "./tile_crop.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import type { GpuTensor } from "../tensor.ts";

/** Voxel normalisations (see tile_crop.wgsl); each compiles its own kernel variant. */
export const NORMALIZE_MODES = ["seed", "u16", "u8", "none"] as const;

/** A voxel normalisation. */
export type NormalizeMode = typeof NORMALIZE_MODES[number];

/** A ring of fragment rows on the GPU: (layers, rows, pitch) integers. */
export interface BandRing {
  /** u8 or u16 tensor of shape [layers, rows, pitch]. */
  tensor: GpuTensor;
  /** Original fragment height and width; rows and columns past them read as zero. */
  height: number;
  width: number;
}

/**
 * Records the dispatches that crop one tile at (y0, x0) of the padded
 * fragment into item `item` of `out`, a (B, 1, D, T, T) float32 tensor.
 * Layers are split into chunks so that every bound window stays under the
 * adapter's storage binding limit.
 */
export function recordTileCrop(
  gpu: Gpu,
  rec: Recorder,
  ring: BandRing,
  out: GpuTensor,
  item: number,
  origin: [number, number],
  mode: NormalizeMode,
): void {
  const [layers, rows, pitch] = ring.tensor.shape;
  const tile = out.shape[out.shape.length - 1];
  if (tile % 16 !== 0) {
    throw new Error(`tile_crop needs a tile that is a multiple of 16, got ${tile}`);
  }
  const bits = ring.tensor.dtype === "u8" ? 8 : 16;
  const effective = bits === 8 && mode !== "none" ? "u8" : mode;
  const kernel = gpu.kernels.get({
    name: "tile_crop",
    source,
    defines: { BITS: bits, NORM: effective, WG: 64 },
  });
  const limit = gpu.maxBinding;
  const plane = tile * tile;
  const bandPlane = rows * pitch;
  const perChunk = Math.max(
    1,
    Math.min(
      layers,
      Math.floor((limit - 256) / (plane * 4)),
      Math.floor((limit - 256) / ((bandPlane * bits) / 8)),
    ),
  );
  for (let z0 = 0; z0 < layers; z0 += perChunk) {
    const nz = Math.min(perChunk, layers - z0);
    const input = bindWindow(ring.tensor, z0 * bandPlane, nz * bandPlane);
    const output = bindWindow(out, (item * layers + z0) * plane, nz * plane);
    rec.dispatch({
      kernel,
      uniforms: [
        tile,
        nz,
        origin[0],
        origin[1],
        ring.height,
        ring.width,
        rows,
        pitch,
        input.base,
        output.base / 4,
      ],
      bindings: [input.binding, output.binding],
      invocations: (nz * plane) / 16,
    });
  }
}
