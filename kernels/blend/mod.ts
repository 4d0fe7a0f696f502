/**
 * `blend` kernel launchers: accumulate per-tile maps into sum and count
 * accumulators on the GPU, then divide. The accumulators hold a ring of
 * `ringRows` fragment rows (fragment row r lives in ring row r % ringRows),
 * so a fragment of any height is blended in bands: once no tile to come can
 * touch a band, {@linkcode recordBlendFlush} finalises it, copies it out and
 * clears its ring rows for the rows below. Rows larger than the binding
 * limit are addressed through windows.
 *
 * @module
 */

import accumulateSource from "./blend.wgsl" with { type: "text" };
import finalizeSource from "./blend_finalize.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder } from "../program.ts";
import type { GpuTensor } from "../tensor.ts";

/** Ring accumulators: sum and count, both (ringRows, W) float32. */
export interface BlendRing {
  sum: GpuTensor;
  count: GpuTensor;
}

/** Per-pixel tile weights: the seed's uniform ones, or a Gaussian window. */
export type BlendWindow =
  | { kind: "uniform" }
  /** `sigma` in pixels; weight exp(-d^2 / (2 sigma^2)) from the tile centre, at least 1e-6. */
  | { kind: "gaussian"; sigma: number };

/** The weight the kernel gives tile pixel (ty, tx), for references and tests. */
export function windowWeight(window: BlendWindow, tile: number, ty: number, tx: number): number {
  if (window.kind === "uniform") return 1;
  const c = 0.5 * (tile - 1);
  const d2 = (ty - c) ** 2 + (tx - c) ** 2;
  return Math.max(Math.exp(-d2 / (2 * window.sigma ** 2)), 1e-6);
}

/**
 * Records adding channel `channel` of item `item` of `maps` (B, C, T, T),
 * whose tile sits at `origin` (y0, x0), into the ring, for fragment rows
 * `[max(y0, fromRow), min(y0 + T, height))` and columns inside `width`.
 * Rows above `fromRow` were already flushed and are skipped.
 */
export function recordBlendTile(
  gpu: Gpu,
  rec: Recorder,
  ring: BlendRing,
  maps: GpuTensor,
  item: number,
  channel: number,
  origin: [number, number],
  geometry: { height: number; fromRow: number; window: BlendWindow },
): void {
  const [ringRows, width] = ring.sum.shape;
  const [, channels, tile] = maps.shape;
  const [y0, x0] = origin;
  const first = Math.max(y0, geometry.fromRow);
  const end = Math.min(y0 + tile, geometry.height);
  const cols = Math.min(tile, width - x0);
  if (end <= first || cols <= 0) return;
  const kernel = gpu.kernels.get({ name: "blend", source: accumulateSource });
  const { window } = geometry;
  const weighted = window.kind === "gaussian" ? 1 : 0;
  const inv = window.kind === "gaussian" ? 1 / (2 * window.sigma ** 2) : 0;
  const plane = (item * channels + channel) * tile * tile;
  for (let r = first; r < end;) {
    const slot = r % ringRows;
    const rows = Math.min(end - r, ringRows - slot);
    const ty0 = r - y0;
    const map = bindWindow(maps, plane + ty0 * tile, rows * tile);
    const sum = bindWindow(ring.sum, slot * width, rows * width);
    const count = bindWindow(ring.count, slot * width, rows * width);
    rec.dispatch({
      kernel,
      uniforms: [
        tile,
        rows,
        cols,
        width,
        x0,
        map.base - ty0 * tile,
        sum.base,
        count.base,
        ty0,
        weighted,
        f32bits(inv),
      ],
      bindings: [map.binding, sum.binding, count.binding],
      invocations: rows * cols,
    });
    r += rows;
  }
}

/**
 * Records finishing ring rows `[slot, slot + rows)`: `sum / count` where
 * count > 0, else 0 (the seed's never-covered pixels); a copy of the result
 * into `out` at byte 0; and zeroing of those ring rows.
 */
export function recordBlendFlush(
  gpu: Gpu,
  rec: Recorder,
  ring: BlendRing,
  slot: number,
  rows: number,
  out: GPUBuffer,
): void {
  const [, width] = ring.sum.shape;
  const kernel = gpu.kernels.get({ name: "blend_finalize", source: finalizeSource });
  const rowsPerWindow = Math.max(1, Math.floor((gpu.maxBinding - 256) / (width * 4)));
  for (let y = slot; y < slot + rows; y += rowsPerWindow) {
    const n = Math.min(rowsPerWindow, slot + rows - y) * width;
    const sum = bindWindow(ring.sum, y * width, n);
    const count = bindWindow(ring.count, y * width, n);
    rec.dispatch({
      kernel,
      uniforms: [n, sum.base, count.base],
      bindings: [sum.binding, count.binding],
      invocations: n,
    });
  }
  const [offset, bytes] = [slot * width * 4, rows * width * 4];
  rec.copy(ring.sum.buffer, offset, out, 0, bytes);
  rec.clear(ring.sum.buffer, offset, bytes).clear(ring.count.buffer, offset, bytes);
}
