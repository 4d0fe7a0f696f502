/**
 * `dropout` launcher: training-only dropout and drop-path (stochastic depth)
 * with a counter-based mask (see `dropout.wgsl`). The same call on dL/dy
 * with the same key is its backward pass.
 *
 * @module
 */

import source from "./dropout.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { HASH_WGSL } from "../hash.ts";
import { f32bits, type Recorder } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

export { dropoutKey } from "./ref.ts";

/** Options of {@linkcode recordDropout}. */
export interface DropoutOptions {
  /** Probability of dropping, in [0, 1). */
  p: number;
  /** The mask's key (`dropoutKey(seed, salt)`). */
  key: number;
  /** Elements per mask unit: 1 for dropout, one sample's size for drop-path. */
  per?: number;
}

/** Records y = x · keep / (1 - p) into a new tensor of x's shape. */
export function recordDropout(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  o: DropoutOptions,
): GpuTensor {
  if (!(o.p >= 0 && o.p < 1)) throw new Error(`dropout: p must be in [0, 1), got ${o.p}`);
  if (x.byteLength > gpu.maxBinding) throw new Error(`dropout: ${x} is over the binding limit`);
  const y = emptyTensor(gpu, x.shape, "f32");
  rec.dispatch({
    kernel: gpu.kernels.get({ name: "dropout", source: HASH_WGSL + source }),
    uniforms: [x.size, o.per ?? 1, o.key >>> 0, f32bits(o.p), f32bits(1 / (1 - o.p))],
    bindings: [x, y],
    invocations: x.size,
  });
  return y;
}
