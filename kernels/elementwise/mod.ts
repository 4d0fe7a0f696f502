/**
 * `elementwise` launchers: `a + b` (same shapes) and the activations relu
 * and leaky_relu, fused (`act(a + b)`, the residual join of MONAI's
 * UnetResBlock), in place or into a new tensor. Tensors of any size are
 * processed in windows of whole 256-byte-aligned element ranges.
 * `recordActivationBackward` is the activations' gradient.
 *
 * @module
 */

import source from "./elementwise.wgsl" with { type: "text" };
import backwardSource from "./activation_backward.wgsl" with { type: "text" };
import type { Gpu } from "../device.ts";
import { bindWindow, f32bits, type Recorder, spareBinding } from "../program.ts";
import { emptyTensor, type GpuTensor } from "../tensor.ts";

/** Activations a kernel can apply. */
export type Activation = "none" | "relu" | "leaky_relu";

/** Options of the elementwise launchers. */
export interface ElementwiseOptions {
  /** Activation applied to the result (default "none"). */
  activation?: Activation;
  /** Negative slope of leaky_relu (default 0.01, PyTorch's and MONAI's). */
  slope?: number;
  /** Write the result into the first operand instead of a new tensor. */
  inPlace?: boolean;
}

/** Records `act(a + b)`; returns the result (`a` itself when in place). */
export function recordAdd(
  gpu: Gpu,
  rec: Recorder,
  a: GpuTensor,
  b: GpuTensor,
  opts: ElementwiseOptions = {},
): GpuTensor {
  if (a.shape.join() !== b.shape.join() || a.dtype !== "f32" || b.dtype !== "f32") {
    throw new Error(`add needs two f32 tensors of one shape, got ${a} and ${b}`);
  }
  if (opts.inPlace && a.buffer === b.buffer) {
    throw new Error("add in place needs two distinct tensors");
  }
  return run(gpu, rec, "add", a, b, opts);
}

/** Records `act(x)`; returns the result (`x` itself when in place). */
export function recordActivation(
  gpu: Gpu,
  rec: Recorder,
  x: GpuTensor,
  activation: Activation,
  opts: Omit<ElementwiseOptions, "activation"> = {},
): GpuTensor {
  if (x.dtype !== "f32") throw new Error(`activation needs an f32 tensor, got ${x}`);
  return run(gpu, rec, "act", x, undefined, { ...opts, activation });
}

function run(
  gpu: Gpu,
  rec: Recorder,
  op: "add" | "act",
  a: GpuTensor,
  b: GpuTensor | undefined,
  opts: ElementwiseOptions,
): GpuTensor {
  const inPlace = opts.inPlace ?? false;
  const y = inPlace ? a : emptyTensor(gpu, a.shape, "f32");
  const n = a.size;
  const width = n % 4 === 0 ? 4 : 1;
  const kernel = gpu.kernels.get({
    name: "elementwise",
    source,
    defines: {
      OP: op,
      ACT: opts.activation ?? "none",
      IN_PLACE: inPlace ? 1 : 0,
      UNIT: width === 4 ? "vec4f" : "f32",
    },
  });
  // Windows start on 256-byte boundaries, so every window offset is a whole unit.
  const per = Math.max(64, Math.floor(gpu.maxBinding / 256) * 64);
  for (let e0 = 0; e0 < n; e0 += per) {
    const count = Math.min(per, n - e0);
    const wy = bindWindow(y, e0, count);
    const wa = inPlace ? undefined : bindWindow(a, e0, count);
    const wb = b ? bindWindow(b, e0, count) : undefined;
    // Bindings a variant never reads get another read-only window (or a dummy): binding
    // the output buffer there too would conflict with its read-write use.
    const spare = wa?.binding ?? wb?.binding ?? spareBinding(gpu.device);
    rec.dispatch({
      kernel,
      uniforms: [
        count / width,
        wy.base / width,
        (wa?.base ?? 0) / width,
        (wb?.base ?? 0) / width,
        f32bits(opts.slope ?? 0.01),
      ],
      bindings: [wy.binding, spare, wb?.binding ?? spare],
      invocations: Math.ceil(count / width),
    });
  }
  return y;
}

/** Options of {@linkcode recordActivationBackward}. */
export interface ActivationBackwardOptions {
  /** Negative slope of leaky_relu (default 0.01). */
  slope?: number;
}

/**
 * Records the gradient of relu or leaky_relu from the forward's output `y`
 * and the upstream gradient `dy`: dy where y > 0, else 0 (relu) or
 * slope · dy (leaky_relu). Returns a new tensor.
 */
export function recordActivationBackward(
  gpu: Gpu,
  rec: Recorder,
  y: GpuTensor,
  dy: GpuTensor,
  kind: "relu" | "leaky_relu",
  opts: ActivationBackwardOptions = {},
): GpuTensor {
  if (y.shape.join() !== dy.shape.join() || y.dtype !== "f32" || dy.dtype !== "f32") {
    throw new Error(`${kind} backward needs two f32 tensors of one shape, got ${y} and ${dy}`);
  }
  const dx = emptyTensor(gpu, y.shape, "f32");
  const n = y.size;
  const width = n % 4 === 0 ? 4 : 1;
  const kernel = gpu.kernels.get({
    name: "activation_backward",
    source: backwardSource,
    defines: { UNIT: width === 4 ? "vec4f" : "f32" },
  });
  const slope = kind === "relu" ? 0 : opts.slope ?? 0.01;
  // Windows start on 256-byte boundaries, so every window offset is a whole unit.
  const per = Math.max(64, Math.floor(gpu.maxBinding / 256) * 64);
  for (let e0 = 0; e0 < n; e0 += per) {
    const count = Math.min(per, n - e0);
    const wy = bindWindow(y, e0, count);
    const wdy = bindWindow(dy, e0, count);
    const wdx = bindWindow(dx, e0, count);
    rec.dispatch({
      kernel,
      uniforms: [
        count / width,
        wy.base / width,
        wdy.base / width,
        wdx.base / width,
        f32bits(slope),
      ],
      bindings: [wy.binding, wdy.binding, wdx.binding],
      invocations: Math.ceil(count / width),
    });
  }
  return dx;
}
