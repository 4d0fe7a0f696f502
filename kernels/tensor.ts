/**
 * The GPU tensor: a shape, an element type and a pooled storage buffer.
 *
 * Elements are stored densely in row-major order. `u8` and `u16` tensors are
 * packed four or two to a 32-bit word (WGSL has no 8- or 16-bit storage
 * types), and every buffer is padded to a multiple of four bytes.
 *
 * @module
 */

import type { Gpu } from "./device.ts";

/** Element types a tensor can hold. */
export type DType = "f32" | "f16" | "u8" | "u16" | "u32" | "i32";

/** Host arrays for each element type (`f16` travels as raw 16-bit words). */
export type HostArray = Float32Array | Uint8Array | Uint16Array | Uint32Array | Int32Array;

const BYTES: Record<DType, number> = { f32: 4, f16: 2, u8: 1, u16: 2, u32: 4, i32: 4 };

/** Bytes per element. */
export function bytesPerElement(dtype: DType): number {
  return BYTES[dtype];
}

/** Number of elements of a shape. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A tensor on the GPU. Release it when done; its buffer returns to the pool. */
export class GpuTensor {
  readonly gpu: Gpu;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly buffer: GPUBuffer;
  #released = false;
  #borrowed = false;

  constructor(gpu: Gpu, shape: readonly number[], dtype: DType, buffer: GPUBuffer) {
    this.gpu = gpu;
    this.shape = [...shape];
    this.dtype = dtype;
    this.buffer = buffer;
  }

  /** Number of elements. */
  get size(): number {
    return numel(this.shape);
  }

  /** Bytes of payload, padded to a whole 32-bit word. */
  get byteLength(): number {
    return Math.ceil((this.size * BYTES[this.dtype]) / 4) * 4;
  }

  /** True once released. */
  get released(): boolean {
    return this.#released;
  }

  /** Returns the buffer to the pool. Safe to call once. */
  release(): void {
    if (this.#borrowed) return;
    if (this.#released) throw new Error(`Tensor [${this.shape}] ${this.dtype} released twice`);
    this.#released = true;
    this.gpu.pool.release(this.buffer);
  }

  /**
   * The same data under another shape with as many elements. The new tensor
   * owns the buffer; this one may no longer be used or released.
   */
  reshape(shape: readonly number[]): GpuTensor {
    if (numel(shape) !== this.size) throw new Error(`Cannot reshape ${this} to [${shape}]`);
    if (this.#released) throw new Error(`Reshape of released tensor ${this}`);
    this.#released = true;
    return new GpuTensor(this.gpu, shape, this.dtype, this.buffer);
  }

  /**
   * A borrowed view of the same data under another shape: it reads and
   * writes this tensor's buffer and releasing it does nothing, so it must
   * not outlive this tensor.
   */
  view(shape: readonly number[]): GpuTensor {
    if (numel(shape) !== this.size) throw new Error(`Cannot view ${this} as [${shape}]`);
    const v = new GpuTensor(this.gpu, shape, this.dtype, this.buffer);
    v.#borrowed = true;
    return v;
  }

  /** A short description, for labels and errors. */
  toString(): string {
    return `${this.dtype}[${this.shape.join(",")}]`;
  }
}

/**
 * Allocates an uninitialised tensor from the pool.
 *
 * @example
 * ```ts ignore
 * const t = emptyTensor(gpu, [2, 3], "f32");
 * t.release();
 * ```
 */
export function emptyTensor(
  gpu: Gpu,
  shape: readonly number[],
  dtype: DType,
  label?: string,
): GpuTensor {
  const bytes = Math.max(4, Math.ceil((numel(shape) * BYTES[dtype]) / 4) * 4);
  return new GpuTensor(gpu, shape, dtype, gpu.pool.acquire(bytes, label ?? `${dtype}[${shape}]`));
}

/** Copies a host array into a new tensor. The array's element type must match `dtype`. */
export function uploadTensor(
  gpu: Gpu,
  shape: readonly number[],
  dtype: DType,
  data: HostArray,
): GpuTensor {
  const n = numel(shape);
  if (data.length !== n) {
    throw new Error(`Upload of ${dtype}[${shape}] needs ${n} elements, got ${data.length}`);
  }
  const t = emptyTensor(gpu, shape, dtype);
  writeTensor(t, data);
  return t;
}

/** Overwrites a tensor's contents (or a prefix of them) from the host, starting at element `at`. */
export function writeTensor(t: GpuTensor, data: HostArray, at = 0): void {
  const bpe = BYTES[t.dtype];
  const offset = at * bpe;
  if (offset % 4 !== 0) throw new Error(`Write into ${t} at element ${at} is not 4-byte aligned`);
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  const aligned = bytes.byteLength & ~3;
  if (aligned > 0) t.gpu.device.queue.writeBuffer(t.buffer, offset, bytes, 0, aligned);
  if (aligned < bytes.byteLength) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(aligned));
    t.gpu.device.queue.writeBuffer(t.buffer, offset + aligned, tail);
  }
}

/** Reads a tensor back to the host (one round trip; never call per tile). */
export async function downloadTensor(t: GpuTensor): Promise<HostArray> {
  const raw = await readBuffer(t.gpu, t.buffer, 0, t.byteLength);
  const n = t.size;
  switch (t.dtype) {
    case "f32":
      return new Float32Array(raw, 0, n);
    case "u32":
      return new Uint32Array(raw, 0, n);
    case "i32":
      return new Int32Array(raw, 0, n);
    case "u8":
      return new Uint8Array(raw, 0, n);
    case "u16":
    case "f16":
      return new Uint16Array(raw, 0, n);
  }
}

/** Copies `size` bytes of a buffer at `offset` to the host through a staging buffer. */
export async function readBuffer(
  gpu: Gpu,
  buffer: GPUBuffer,
  offset: number,
  size: number,
): Promise<ArrayBuffer> {
  const staging = gpu.device.createBuffer({
    size: Math.max(4, size),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    label: "readback",
  });
  const enc = gpu.device.createCommandEncoder({ label: "readback" });
  enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
  gpu.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  gpu.check();
  return out;
}

/**
 * Reads several f32 tensors back in one round trip (one staging buffer, one
 * map): for checkpoints, where a round trip per tensor would cost ~11 ms each.
 */
export async function downloadTensors(gpu: Gpu, ts: readonly GpuTensor[]): Promise<Float32Array[]> {
  if (ts.some((t) => t.dtype !== "f32")) throw new Error("downloadTensors reads f32 tensors");
  const offsets: number[] = [];
  let total = 0;
  for (const t of ts) {
    offsets.push(total);
    total += Math.ceil(t.byteLength / 256) * 256;
  }
  const staging = gpu.device.createBuffer({
    size: Math.max(4, total),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    label: "readback many",
  });
  const enc = gpu.device.createCommandEncoder({ label: "readback many" });
  ts.forEach((t, i) => enc.copyBufferToBuffer(t.buffer, 0, staging, offsets[i], t.byteLength));
  gpu.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const mapped = staging.getMappedRange();
  const out = ts.map((t, i) => new Float32Array(mapped.slice(offsets[i], offsets[i] + t.size * 4)));
  staging.unmap();
  staging.destroy();
  gpu.check();
  return out;
}
