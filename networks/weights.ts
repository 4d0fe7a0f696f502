/**
 * Network weights on the GPU, looked up by their PyTorch state-dict keys.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import { type GpuTensor, uploadTensor } from "../kernels/tensor.ts";
import type { ParamSpec } from "./params.ts";

/** A host tensor as checkpoint readers give it. */
export interface HostTensor {
  readonly shape: readonly number[];
  /** The values as float32 (integer tensors converted), read on demand. */
  data(): Promise<Float32Array>;
}

/** Weights of one network (or one part of it), by key. */
export class Weights {
  readonly #tensors: Map<string, GpuTensor>;
  readonly #prefix: string;

  constructor(tensors: Map<string, GpuTensor>, prefix = "") {
    this.#tensors = tensors;
    this.#prefix = prefix;
  }

  /**
   * Uploads the tensors a spec names. `lookup` returns the host tensor for a
   * key of the spec; keys and shapes must already have been checked.
   */
  static async upload(
    gpu: Gpu,
    spec: ParamSpec,
    lookup: (key: string) => HostTensor,
  ): Promise<Weights> {
    const tensors = new Map<string, GpuTensor>();
    for (const [key, shape] of spec.shapes) {
      if (key.endsWith("num_batches_tracked")) continue;
      tensors.set(
        key,
        uploadTensor(gpu, shape.length ? shape : [1], "f32", await lookup(key).data()),
      );
    }
    return new Weights(tensors);
  }

  /** The tensor at `key` (relative to this view's prefix). */
  get(key: string): GpuTensor {
    const t = this.#tensors.get(this.#prefix + key);
    if (!t) throw new Error(`No weight "${this.#prefix + key}"`);
    return t;
  }

  /** Adds a derived tensor (released with the others). */
  set(key: string, t: GpuTensor): void {
    this.#tensors.set(this.#prefix + key, t);
  }

  /** True when the key exists. */
  has(key: string): boolean {
    return this.#tensors.has(this.#prefix + key);
  }

  /** A view of the keys under `prefix`. */
  at(prefix: string): Weights {
    return new Weights(this.#tensors, this.#prefix + prefix);
  }

  /** Every (full key, tensor) pair of the whole set, in insertion order. */
  entries(): IterableIterator<[string, GpuTensor]> {
    return this.#tensors.entries();
  }

  /** Releases every tensor (of the whole set, not only this view). */
  release(): void {
    for (const t of this.#tensors.values()) t.release();
    this.#tensors.clear();
  }
}
