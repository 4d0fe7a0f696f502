/**
 * `blend` kernel launchers: accumulate per-tile maps into whole-fragment
 * sum and count maps on the GPU, then divide. Maps larger than the binding
 * limit are addressed through row windows.
 *
 * @module
 */

import accumulateSource from "./blend.wgsl" with { type: "text" };
import finalizeSource from "./blend_finalize.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import type { GpuTensor } from "../tensor.ts";

/** Whole-fragment accumulators: sum (C, H, W) and count (H, W), float32. */
export interface BlendMaps {
  sum: GpuTensor;
  count: GpuTensor;
}

/**
 * Records adding item `item` of `maps` (B, C, T, T) at `origin` (y0, x0)
 * into the accumulators, clipped to the fragment's (H, W).
 */
export function recordBlendTile(
  gpu: Gpu,
  rec: Recorder,
  acc: BlendMaps,
  maps: GpuTensor,
  item: number,
  origin: [number, number],
): void {
  const [, channels, height, width] = acc.sum.shape;
  const tile = maps.shape[3];
  const [y0, x0] = origin;
  const rows = Math.min(tile, height - y0);
  const cols = Math.min(tile, width - x0);
  if (rows <= 0 || cols <= 0) return;
  const kernel = gpu.kernels.get({ name: "blend", source: accumulateSource });
  for (let c = 0; c < channels; c++) {
    const map = bindWindow(maps, (item * channels + c) * tile * tile, tile * tile);
    const sum = bindWindow(acc.sum, (c * height + y0) * width, rows * width);
    const count = bindWindow(acc.count, y0 * width, rows * width);
    rec.dispatch({
      kernel,
      uniforms: [tile, rows, cols, width, x0, map.base, sum.base, count.base, c === 0 ? 1 : 0],
      bindings: [map.binding, sum.binding, count.binding],
      invocations: rows * cols,
    });
  }
}

/** Records `sum = count > 0 ? sum / count : 0` in place, window by window. */
export function recordBlendFinalize(gpu: Gpu, rec: Recorder, acc: BlendMaps): void {
  const [, channels, height, width] = acc.sum.shape;
  const kernel = gpu.kernels.get({ name: "blend_finalize", source: finalizeSource });
  const rowsPerWindow = Math.max(1, Math.floor((gpu.maxBinding - 256) / (width * 4)));
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y += rowsPerWindow) {
      const rows = Math.min(rowsPerWindow, height - y);
      const sum = bindWindow(acc.sum, (c * height + y) * width, rows * width);
      const count = bindWindow(acc.count, y * width, rows * width);
      rec.dispatch({
        kernel,
        uniforms: [rows * width, sum.base, count.base],
        bindings: [sum.binding, count.binding],
        invocations: rows * width,
      });
    }
  }
}
