/**
 * Parameter specs: the state-dict keys and shapes a network expects, built
 * by the same code that runs it, so strict loading can name every missing,
 * unexpected or wrongly shaped key.
 *
 * @module
 */

/** Keys to shapes, in the order a PyTorch state dict lists them. */
export class ParamSpec {
  readonly shapes = new Map<string, number[]>();

  /** Adds one tensor. */
  add(key: string, shape: number[]): this {
    if (this.shapes.has(key)) throw new Error(`Parameter "${key}" declared twice`);
    this.shapes.set(key, shape);
    return this;
  }

  /** Adds a convolution's or linear layer's `weight` and, when `bias`, its `bias` of `shape[0]`. */
  layer(prefix: string, shape: number[], bias = true, biasSize = shape[0]): this {
    this.add(`${prefix}.weight`, shape);
    if (bias) this.add(`${prefix}.bias`, [biasSize]);
    return this;
  }

  /** Adds a norm's affine `weight` and `bias` of `channels`. */
  norm(prefix: string, channels: number): this {
    return this.add(`${prefix}.weight`, [channels]).add(`${prefix}.bias`, [channels]);
  }

  /** Adds every key of another spec under a prefix. */
  nest(prefix: string, other: ParamSpec): this {
    for (const [k, s] of other.shapes) this.add(`${prefix}${k}`, s);
    return this;
  }

  /** Number of keys. */
  get size(): number {
    return this.shapes.size;
  }

  /** Total number of elements; `exclude` filters keys (e.g. BatchNorm buffers). */
  count(exclude: (key: string) => boolean = () => false): number {
    let n = 0;
    for (const [k, s] of this.shapes) if (!exclude(k)) n += s.reduce((a, b) => a * b, 1);
    return n;
  }
}

/** True for BatchNorm's integer step counter, the one non-float entry of these state dicts. */
export function isCounter(key: string): boolean {
  return key.endsWith(".num_batches_tracked");
}
