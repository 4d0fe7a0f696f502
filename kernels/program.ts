/**
 * Compute kernels: WGSL compilation with a closed set of placeholders, a
 * pipeline cache keyed by readable strings, and a recorder that batches many
 * dispatches into one submit.
 *
 * Conventions every kernel follows:
 * - `@group(0) @binding(0)` is a uniform struct of 32-bit scalars holding all
 *   shapes, strides and offsets (never baked into the source);
 * - storage buffers follow at bindings 1, 2, ...;
 * - the entry point is `main`, one-dimensional `@workgroup_size({{WG}})`, and
 *   the invocation index is `gid.x + gid.y * nwg.x * {{WG}}u`, so a dispatch
 *   of any size is split over two grid dimensions below the 65535 limit.
 *
 * @module
 */

import type { AdapterSummary } from "./device.ts";
import { debugLevel, log } from "./debug.ts";
import type { GpuTensor } from "./tensor.ts";

/** A kernel: its WGSL and the placeholder values that pick a variant. */
export interface KernelSpec {
  /** Readable name, the first part of the cache key, e.g. "tile_crop". */
  name: string;
  /** WGSL source; `{{NAME}}` placeholders are replaced from `defines`. */
  source: string;
  /** Placeholder values: a closed set per kernel (workgroup size, element type, variant). */
  defines?: Record<string, string | number>;
  /** Entry point (default "main"); give each entry point its own `name`. */
  entryPoint?: string;
}

/** A compiled kernel. */
export interface Kernel {
  key: string;
  pipeline: GPUComputePipeline;
  workgroupSize: number;
}

/** The default workgroup size (llvmpipe runs 8-wide SIMD; 64 keeps many groups in flight). */
export const DEFAULT_WG = 64;

/** A buffer binding, optionally a window of a larger buffer. */
export interface BufferBinding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** One dispatch: a kernel, its uniform words, its storage bindings and its invocation count. */
export interface Dispatch {
  kernel: Kernel;
  /** Uniform struct contents as 32-bit words (use {@linkcode f32bits} for floats). */
  uniforms: ArrayLike<number>;
  /** Storage bindings 1..n, tensors or explicit windows. */
  bindings: (GpuTensor | BufferBinding)[];
  /** Number of invocations; each computes what the kernel says (an element, a row...). */
  invocations: number;
}

/** Reinterprets a float as the bits of a 32-bit uniform word. */
export function f32bits(x: number): number {
  F32[0] = x;
  return U32[0];
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

/** Compiles and caches kernels by readable key. */
export class KernelCache {
  #device: GPUDevice;
  #adapter: AdapterSummary;
  #timestamps: boolean;
  #cache = new Map<string, Kernel>();

  constructor(device: GPUDevice, adapter: AdapterSummary, timestamps: boolean) {
    this.#device = device;
    this.#adapter = adapter;
    this.#timestamps = timestamps;
  }

  /** The cache key of a spec: name plus sorted placeholder values, e.g. `tile_crop wg=64`. */
  static key(spec: KernelSpec): string {
    const defs = Object.entries({ WG: DEFAULT_WG, ...spec.defines })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k.toLowerCase()}=${v}`);
    return [spec.name, ...defs].join(" ");
  }

  /** Returns the compiled kernel for a spec, compiling it on first use. */
  get(spec: KernelSpec): Kernel {
    const key = KernelCache.key(spec);
    let k = this.#cache.get(key);
    if (k) return k;
    const defines: Record<string, string | number> = { WG: DEFAULT_WG, ...spec.defines };
    const code = expand(spec.source, defines, spec.name);
    const module = this.#device.createShaderModule({ code, label: key });
    const pipeline = this.#device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: spec.entryPoint ?? "main" },
      label: key,
    });
    k = { key, pipeline, workgroupSize: Number(defines.WG) };
    this.#cache.set(key, k);
    if (debugLevel() >= 2) log(`kernel ${key}`);
    return k;
  }

  /** Keys of every compiled kernel. */
  keys(): string[] {
    return [...this.#cache.keys()];
  }

  /** A recorder for a batch of dispatches submitted together. */
  recorder(label = "batch"): Recorder {
    return new Recorder(this.#device, this.#adapter, this.#timestamps, label);
  }
}

/** Replaces `{{NAME}}` placeholders; an unknown placeholder is a programming error. */
export function expand(
  source: string,
  defines: Record<string, string | number>,
  name: string,
): string {
  return source.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in defines)) {
      throw new Error(`Kernel "${name}" uses placeholder {{${k}}} with no value`);
    }
    return String(defines[k]);
  });
}

/** Splits `invocations` into a workgroup grid under the per-dimension limit. */
export function grid(
  invocations: number,
  workgroupSize: number,
  maxPerDim: number,
): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / workgroupSize));
  if (groups <= maxPerDim) return [groups, 1];
  const y = Math.ceil(groups / maxPerDim);
  const x = Math.ceil(groups / y);
  if (y > maxPerDim) throw new Error(`Dispatch of ${invocations} invocations is too large`);
  return [x, y];
}

/**
 * Records dispatches and submits them in one command buffer: one uniform
 * buffer for all of them, one compute pass (or one pass per dispatch when
 * timing at `DEBUG=3`).
 */
export class Recorder {
  #device: GPUDevice;
  #adapter: AdapterSummary;
  #timestamps: boolean;
  #label: string;
  #dispatches: Dispatch[] = [];
  #copies: [GPUBuffer, number, GPUBuffer, number, number][] = [];
  #clears: [GPUBuffer, number, number][] = [];
  #order: ("d" | "c" | "z")[] = [];
  #temporaries: GPUBuffer[] = [];

  constructor(device: GPUDevice, adapter: AdapterSummary, timestamps: boolean, label: string) {
    this.#device = device;
    this.#adapter = adapter;
    this.#timestamps = timestamps;
    this.#label = label;
  }

  /** Number of recorded commands. */
  get length(): number {
    return this.#order.length;
  }

  /** Records a dispatch. */
  dispatch(d: Dispatch): this {
    if (d.invocations <= 0) return this;
    this.#dispatches.push(d);
    this.#order.push("d");
    return this;
  }

  /** Records a buffer-to-buffer copy, ordered with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): this {
    this.#copies.push([src, srcOffset, dst, dstOffset, size]);
    this.#order.push("c");
    return this;
  }

  /** Records zeroing `size` bytes of a buffer at `offset` (both multiples of 4). */
  clear(buffer: GPUBuffer, offset = 0, size = buffer.size - offset): this {
    this.#clears.push([buffer, offset, size]);
    this.#order.push("z");
    return this;
  }

  /**
   * Destroys `buffer` right after the next submission: for temporaries that
   * recorded commands read (work already submitted still completes).
   */
  destroyAfterSubmit(buffer: GPUBuffer): this {
    this.#temporaries.push(buffer);
    return this;
  }

  /** Encodes and submits everything recorded; returns at once (no round trip). */
  submit(): void {
    if (this.#order.length === 0) return;
    const device = this.#device;
    const align = 256;
    const words = this.#dispatches.map((d) => Math.max(4, Math.ceil(d.uniforms.length / 4) * 4));
    const offsets: number[] = [];
    let total = 0;
    for (const w of words) {
      offsets.push(total);
      total += Math.ceil((w * 4) / align) * align;
    }
    const ubuf = device.createBuffer({
      size: Math.max(total, align),
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: `${this.#label}/uniforms`,
    });
    const host = new Uint32Array(Math.max(total, align) / 4);
    this.#dispatches.forEach((d, i) => host.set(Array.from(d.uniforms), offsets[i] / 4));
    device.queue.writeBuffer(ubuf, 0, host);

    const nd = this.#dispatches.length;
    // A query set holds at most 4096 queries; larger batches go untimed.
    const timing = this.#timestamps && debugLevel() >= 3 && nd > 0 && nd <= 2048;
    const query = timing ? device.createQuerySet({ type: "timestamp", count: 2 * nd }) : undefined;
    const maxDim = this.#adapter.limits.maxComputeWorkgroupsPerDimension;
    const enc = device.createCommandEncoder({ label: this.#label });
    let pass: GPUComputePassEncoder | undefined;
    let di = 0;
    let ci = 0;
    let zi = 0;
    for (const op of this.#order) {
      if (op === "z") {
        pass?.end();
        pass = undefined;
        const [b, o, n] = this.#clears[zi++];
        enc.clearBuffer(b, o, n);
        continue;
      }
      if (op === "c") {
        pass?.end();
        pass = undefined;
        const [s, so, t, to, n] = this.#copies[ci++];
        enc.copyBufferToBuffer(s, so, t, to, n);
        continue;
      }
      const i = di++;
      const d = this.#dispatches[i];
      if (timing) {
        pass?.end();
        pass = enc.beginComputePass({
          label: d.kernel.key,
          timestampWrites: {
            querySet: query!,
            beginningOfPassWriteIndex: 2 * i,
            endOfPassWriteIndex: 2 * i + 1,
          },
        });
      } else {
        pass ??= enc.beginComputePass({ label: this.#label });
      }
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: ubuf, offset: offsets[i], size: words[i] * 4 } },
      ];
      d.bindings.forEach((b, j) => {
        const bb = "shape" in b ? { buffer: b.buffer, offset: 0, size: b.byteLength } : b;
        entries.push({
          binding: j + 1,
          resource: { buffer: bb.buffer, offset: bb.offset ?? 0, size: bb.size },
        });
      });
      const bg = device.createBindGroup({
        layout: d.kernel.pipeline.getBindGroupLayout(0),
        entries,
      });
      pass.setPipeline(d.kernel.pipeline);
      pass.setBindGroup(0, bg);
      const [x, y] = grid(d.invocations, d.kernel.workgroupSize, maxDim);
      pass.dispatchWorkgroups(x, y);
    }
    pass?.end();
    let resolved: GPUBuffer | undefined;
    if (query) {
      const qbuf = device.createBuffer({
        size: 16 * nd,
        usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      });
      enc.resolveQuerySet(query, 0, 2 * nd, qbuf, 0);
      resolved = device.createBuffer({
        size: 16 * nd,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(qbuf, 0, resolved, 0, 16 * nd);
    }
    device.queue.submit([enc.finish()]);
    ubuf.destroy();
    for (const b of this.#temporaries) b.destroy();
    this.#temporaries = [];
    if (resolved) void this.#report(resolved, [...this.#dispatches]);
    this.#dispatches = [];
    this.#copies = [];
    this.#clears = [];
    this.#order = [];
  }

  async #report(buf: GPUBuffer, dispatches: Dispatch[]): Promise<void> {
    await buf.mapAsync(GPUMapMode.READ);
    const t = new BigUint64Array(buf.getMappedRange());
    dispatches.forEach((d, i) => {
      const ms = Number(t[2 * i + 1] - t[2 * i]) / 1e6;
      log(`dispatch ${d.kernel.key} n=${d.invocations} ${ms.toFixed(3)} ms`);
    });
    buf.unmap();
    buf.destroy();
  }
}

/**
 * A window of a tensor for binding: the aligned byte range that holds
 * elements `[start, start + count)` and the element offset of `start` inside
 * it. Lets kernels address tensors larger than the storage binding limit one
 * window at a time.
 */
export function bindWindow(
  t: GpuTensor,
  start: number,
  count: number,
  alignment = 256,
): { binding: BufferBinding; base: number } {
  const bpe = t.dtype === "u8" ? 1 : t.dtype === "u16" || t.dtype === "f16" ? 2 : 4;
  const startByte = start * bpe;
  const offset = Math.floor(startByte / alignment) * alignment;
  const end = Math.min(t.buffer.size, Math.ceil(((start + count) * bpe) / 4) * 4);
  const size = Math.ceil((end - offset) / 4) * 4;
  return { binding: { buffer: t.buffer, offset, size }, base: (startByte - offset) / bpe };
}

const spares = new WeakMap<GPUDevice, GPUBuffer>();

/** A 256-byte storage buffer, bound where a kernel variant declares a binding it never reads. */
export function spareBinding(device: GPUDevice): BufferBinding {
  let b = spares.get(device);
  if (!b) {
    b = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE, label: "spare" });
    spares.set(device, b);
  }
  return { buffer: b, offset: 0, size: 256 };
}
