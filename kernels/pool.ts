/**
 * A pool of GPU storage buffers bucketed by size class, with explicit
 * release and a report of allocated and in-use bytes.
 *
 * Size classes have four steps per power of two, so a buffer wastes at most
 * 25 % of its size and a buffer released by one batch is reused by the next
 * batch of the same shape without a new allocation.
 *
 * @module
 */

/** Usage flags of every pooled buffer. */
export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
  GPUBufferUsage.COPY_DST;

/** Allocation statistics of a {@linkcode BufferPool}. */
export interface PoolStats {
  /** Bytes held by the pool, in use or free. */
  allocatedBytes: number;
  /** Bytes handed out and not yet released. */
  inUseBytes: number;
  /** The largest `inUseBytes` seen. */
  peakInUseBytes: number;
  /** Buffers created so far (a pool that works keeps this flat in steady state). */
  createdBuffers: number;
}

/** Rounds a byte size up to its size class (4 classes per octave, 256-byte minimum). */
export function sizeClass(bytes: number): number {
  const n = Math.max(256, Math.ceil(bytes));
  const octave = 2 ** Math.floor(Math.log2(n));
  const step = Math.max(256, octave / 4);
  return Math.ceil(n / step) * step;
}

/**
 * Pools storage buffers by size class.
 *
 * @example
 * ```ts ignore
 * const buf = gpu.pool.acquire(1 << 20);
 * // ... use it in dispatches ...
 * gpu.pool.release(buf);
 * console.log(gpu.pool.stats().inUseBytes); // 0
 * ```
 */
export class BufferPool {
  #device: GPUDevice;
  #free = new Map<number, GPUBuffer[]>();
  #inUse = new Set<GPUBuffer>();
  #allocated = 0;
  #inUseBytes = 0;
  #peak = 0;
  #created = 0;

  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Returns a storage buffer of at least `bytes` bytes; release it when done. */
  acquire(bytes: number, label = "pooled"): GPUBuffer {
    const size = sizeClass(bytes);
    let buffer = this.#free.get(size)?.pop();
    if (!buffer) {
      buffer = this.#device.createBuffer({ size, usage: STORAGE_USAGE, label });
      this.#allocated += size;
      this.#created++;
    }
    this.#inUse.add(buffer);
    this.#inUseBytes += size;
    this.#peak = Math.max(this.#peak, this.#inUseBytes);
    return buffer;
  }

  /** Returns a buffer to the pool. Releasing a buffer twice is an error. */
  release(buffer: GPUBuffer): void {
    if (!this.#inUse.delete(buffer)) {
      throw new Error(`Buffer "${buffer.label}" released twice or not from this pool`);
    }
    this.#inUseBytes -= buffer.size;
    const list = this.#free.get(buffer.size);
    if (list) list.push(buffer);
    else this.#free.set(buffer.size, [buffer]);
  }

  /** Destroys free buffers (in-use buffers are kept). */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#allocated -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }

  /** Destroys every buffer; the pool must not be used afterwards. */
  destroy(): void {
    this.trim();
    for (const b of this.#inUse) b.destroy();
    this.#inUse.clear();
    this.#allocated = 0;
    this.#inUseBytes = 0;
  }

  /** Allocation statistics. */
  stats(): PoolStats {
    return {
      allocatedBytes: this.#allocated,
      inUseBytes: this.#inUseBytes,
      peakInUseBytes: this.#peak,
      createdBuffers: this.#created,
    };
  }
}
