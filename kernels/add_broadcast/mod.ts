/**
 * `add_broadcast` kernel launcher: `a + b` where `b` (any shape whose size
 * divides `a`'s) repeats over `a`'s leading dimensions.
 *
 * @module
 */

import source from "./add_broadcast.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Records `y = a + b[i % b.size]` into a new tensor of `a`'s shape. */
export function recordAddBroadcast(gpu: Gpu, rec: Recorder, a: GpuTensor, b: GpuTensor): GpuTensor {
  if (a.size % b.size !== 0) throw new Error(`add_broadcast: ${b} does not repeat over ${a}`);
  const y = emptyTensor(gpu, a.shape, "f32");
  const kernel = gpu.kernels.get({ name: "add_broadcast", source });
  const per = Math.max(b.size, Math.floor((gpu.maxBinding - 256) / 4 / b.size) * b.size);
  for (let first = 0; first < a.size; first += per) {
    const n = Math.min(per, a.size - first);
    const aw = bindWindow(a, first, n);
    const yw = bindWindow(y, first, n);
    rec.dispatch({
      kernel,
      uniforms: [n, b.size, aw.base, yw.base, first],
      bindings: [aw.binding, b, yw.binding],
      invocations: n,
    });
  }
  return y;
}
