/**
 * GPU acquisition: one adapter and device per process, its info, features
 * and limits, and a one-line error naming the fix when no adapter exists.
 *
 * @module
 */

import { BufferPool } from "./pool.ts";
import { KernelCache } from "./program.ts";
import { debugLevel, log } from "./debug.ts";

/** What the manifest and `DEBUG=1` report about the adapter. */
export interface AdapterSummary {
  description: string;
  vendor: string;
  architecture: string;
  backend: string;
  isFallbackAdapter: boolean;
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupsPerDimension: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupStorageSize: number;
    maxStorageBuffersPerShaderStage: number;
    minStorageBufferOffsetAlignment: number;
  };
}

/** Raised when WebGPU is missing or no adapter can be found. */
export class NoAdapterError extends Error {
  override name = "NoAdapterError";
}

/** The process-wide GPU: device, buffer pool, kernel cache. */
export interface Gpu {
  device: GPUDevice;
  adapter: AdapterSummary;
  pool: BufferPool;
  kernels: KernelCache;
  /** True when timestamp queries were enabled on the device. */
  timestamps: boolean;
  /**
   * The largest storage binding launchers may use, in bytes: the adapter's
   * limit, lowered by tests to exercise the windowing of large tensors on
   * small shapes.
   */
  maxBinding: number;
  /**
   * Waits until all submitted work has finished (one round trip, about 11 ms
   * on Deno). Throws {@linkcode GpuError} if the device reported an error
   * since the last check (a shader that does not compile, a bad binding).
   */
  sync(): Promise<void>;
  /** Throws {@linkcode GpuError} if the device reported an error since the last check. */
  check(): void;
}

/**
 * An error the device reported (WebGPU reports validation errors, such as a
 * shader that does not compile, asynchronously): raised by the next
 * `sync()`, readback or `check()` instead of only being logged, so a broken
 * kernel fails the run that uses it.
 */
export class GpuError extends Error {
  override name = "GpuError";
}

let current: Promise<Gpu> | undefined;

/** The one-line message for a machine without a usable adapter. */
export const NO_ADAPTER_MESSAGE =
  "No WebGPU adapter found: install a Vulkan driver (for example `apt-get install mesa-vulkan-drivers`) or run on a machine with a GPU";

/**
 * Returns the process-wide GPU, acquiring it on first use.
 *
 * @example
 * ```ts ignore
 * const gpu = await getGpu();
 * console.log(gpu.adapter.description);
 * ```
 */
export function getGpu(): Promise<Gpu> {
  current ??= acquire().catch((e) => {
    current = undefined;
    throw e;
  });
  return current;
}

/** Destroys the process-wide device (tests and benchmarks that want a clean pool). */
export async function releaseGpu(): Promise<void> {
  if (!current) return;
  const gpu = await current.catch(() => undefined);
  current = undefined;
  gpu?.pool.destroy();
  gpu?.device.destroy();
}

async function acquire(): Promise<Gpu> {
  ensureXdgRuntimeDir();
  if (typeof navigator === "undefined" || !("gpu" in navigator)) {
    throw new NoAdapterError(NO_ADAPTER_MESSAGE);
  }
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
  } catch {
    adapter = null;
  }
  if (!adapter) throw new NoAdapterError(NO_ADAPTER_MESSAGE);

  const wanted: GPUFeatureName[] = ["timestamp-query", "shader-f16"];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredFeatures,
    requiredLimits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
      maxComputeWorkgroupSizeZ: l.maxComputeWorkgroupSizeZ,
    },
  });
  device.lost.then((info) => {
    if (info.reason !== "destroyed") log(`GPU device lost: ${info.message}`);
  });
  let reported: string | undefined;
  device.addEventListener("uncapturederror", (ev) => {
    const err = (ev as GPUUncapturedErrorEvent).error;
    log(`GPU error: ${err.message}`);
    reported ??= err.message.trim();
  });
  const check = () => {
    if (reported === undefined) return;
    const message = reported;
    reported = undefined;
    throw new GpuError(`GPU error: ${message.replace(/\s+/g, " ")}`);
  };

  const info = adapter.info;
  const summary: AdapterSummary = {
    description: info.description || info.device || "unknown adapter",
    vendor: info.vendor,
    architecture: info.architecture,
    backend: Deno.env.get("DENO_WEBGPU_BACKEND") ?? "default",
    isFallbackAdapter: (info as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    features: [...adapter.features].sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
    },
  };
  const timestamps = requiredFeatures.includes("timestamp-query");
  const pool = new BufferPool(device);
  const gpu: Gpu = {
    device,
    adapter: summary,
    pool,
    kernels: new KernelCache(device, summary, timestamps),
    timestamps,
    maxBinding: summary.limits.maxStorageBufferBindingSize,
    sync: async () => {
      await device.queue.onSubmittedWorkDone();
      check();
    },
    check,
  };
  if (debugLevel() >= 1) {
    log(`adapter: ${summary.description} (features: ${summary.features.join(", ")})`);
  }
  return gpu;
}

/** Mesa prints a warning on every start unless XDG_RUNTIME_DIR is a 0700 folder. */
function ensureXdgRuntimeDir(): void {
  try {
    const dir = Deno.env.get("XDG_RUNTIME_DIR");
    if (dir && Deno.statSync(dir).isDirectory) return;
    let user = "user";
    try {
      user = String(Deno.uid() ?? user);
    } catch {
      // --allow-sys=uid not granted: one shared folder name is fine.
    }
    const fallback = `/tmp/xdg-runtime-${user}`;
    Deno.mkdirSync(fallback, { recursive: true, mode: 0o700 });
    Deno.chmodSync(fallback, 0o700);
    Deno.env.set("XDG_RUNTIME_DIR", fallback);
  } catch {
    // Permissions may forbid env or fs access; the warning is harmless.
  }
}
