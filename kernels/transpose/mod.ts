/**
 * `transpose` kernel launcher: (B, M, N) -> (B, N, M), e.g. channels-first
 * (B, C, H·W) <-> tokens (B, H·W, C). Whole matrices go several to a
 * dispatch; a matrix over the binding limit is cut into row x column blocks
 * whose input and output windows both fit.
 *
 * @module
 */

import source from "./transpose.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/**
 * Records the transpose of the last two dimensions of `x` (..., M, N) into a
 * new tensor (..., N, M). Pass `shape` to read `x` as (B, M, N) regardless of
 * its own shape (the output is then (B, N, M)).
 */
export function recordTranspose(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  shape?: [number, number, number],
): GpuTensor {
  const dims = x.shape;
  const [b, m, n] = shape ?? [
    dims.slice(0, -2).reduce((s, d) => s * d, 1),
    dims[dims.length - 2],
    dims[dims.length - 1],
  ];
  if (b * m * n !== x.size) throw new Error(`transpose: shape [${shape}] does not match ${x}`);
  const outShape = shape ? [b, n, m] : [...dims.slice(0, -2), n, m];
  const y = emptyTensor(gpu, outShape, "f32");
  const kernel = gpu.kernels.get({ name: "transpose", source });
  const limit = Math.floor((gpu.maxBinding - 256) / 4);
  const plane = m * n;
  if (plane <= limit) {
    const per = Math.floor(limit / plane);
    for (let i0 = 0; i0 < b; i0 += per) {
      const items = Math.min(per, b - i0);
      const xw = bindWindow(x, i0 * plane, items * plane);
      const yw = bindWindow(y, i0 * plane, items * plane);
      rec.dispatch({
        kernel,
        uniforms: [m, n, items, n, m, plane, xw.base, yw.base],
        bindings: [xw.binding, yw.binding],
        invocations: items * Math.ceil(m / 4) * Math.ceil(n / 4),
      });
    }
    return y;
  }
  // Blocks of mc rows x nc columns: input span (mc - 1)·N + nc, output span (nc - 1)·M + mc.
  let mc = m, nc = n;
  while ((mc - 1) * n + nc > limit || (nc - 1) * m + mc > limit) {
    if ((mc - 1) * n + nc > limit && mc > 1) mc = Math.ceil(mc / 2);
    else nc = Math.ceil(nc / 2);
  }
  for (let i = 0; i < b; i++) {
    for (let m0 = 0; m0 < m; m0 += mc) {
      const rows = Math.min(mc, m - m0);
      for (let n0 = 0; n0 < n; n0 += nc) {
        const cols = Math.min(nc, n - n0);
        const xw = bindWindow(x, i * plane + m0 * n + n0, (rows - 1) * n + cols);
        const yw = bindWindow(y, i * plane + n0 * m + m0, (cols - 1) * m + rows);
        rec.dispatch({
          kernel,
          uniforms: [rows, cols, 1, n, m, plane, xw.base, yw.base],
          bindings: [xw.binding, yw.binding],
          invocations: Math.ceil(rows / 4) * Math.ceil(cols / 4),
        });
      }
    }
  }
  return y;
}
