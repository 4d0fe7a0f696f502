/**
 * The run manifest (`manifest.json` in the output folder): what ran, with
 * which parameters and software, on which adapter, how long each node took
 * and how much memory the process used at its peak. It is written last; a
 * run that failed writes it with `status: "failed"` and the error.
 *
 * @module
 */

import process from "node:process";
import type { AdapterSummary } from "../kernels/device.ts";
import type { ProgressState } from "./progress.ts";

/** The application version recorded in manifests. */
export const APP_VERSION = "0.1.0";
/** The application name recorded in manifests. */
export const APP_NAME = "vesuvius-ink-webgpu";

/** One node of a run. */
export interface ManifestNode {
  id: string;
  stage: string;
  version: string;
  /** Connected inputs: input port to `node.output`. */
  inputs: Record<string, string>;
  /** Parsed parameters (defaults applied, input paths absolute). */
  params: Record<string, unknown>;
  /** When the stage's run() was called, in ms since the run started. */
  startMs?: number;
  /**
   * When the node finished: run() resolved and every stream it returned was
   * consumed to the end, in ms since the run started.
   */
  endMs?: number;
  /** endMs - startMs. */
  wallMs?: number;
  /**
   * For a node with stream outputs: time spent inside its streams' `next()`,
   * which includes pulling from upstream streams.
   */
  streamMs?: number;
  /** Batches its streams yielded. */
  batches?: number;
  /** Where its progress ended. */
  progress?: ProgressState;
}

/** The whole manifest. */
export interface Manifest {
  status: "complete" | "failed";
  /** The error message of a failed run. */
  error?: string;
  app: { name: string; version: string };
  pipeline: {
    file: string;
    description?: string;
    /** The file and its `extends` chain, each with its SHA-256. */
    files: { path: string; sha256: string }[];
    overrides: string[];
  };
  runtime: {
    deno: string;
    v8: string;
    typescript: string;
    target: string;
    os: string;
    osRelease?: string;
  };
  /** Present only when a stage acquired the GPU. */
  adapter?: AdapterSummary;
  started: string;
  wallMs: number;
  peakMemory: { bytes: number; source: "getrusage" | "rss-sampled" };
  nodes: ManifestNode[];
  /** Outputs written, relative to the output folder. */
  outputs: string[];
  /** Outputs a failed run had written and removed again. */
  removed?: string[];
}

/** The runtime part of the manifest. */
export function runtimeInfo(): Manifest["runtime"] {
  const info: Manifest["runtime"] = {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    target: Deno.build.target,
    os: Deno.build.os,
  };
  try {
    const sys = Deno.permissions.querySync({ name: "sys", kind: "osRelease" });
    if (sys.state === "granted") info.osRelease = Deno.osRelease();
  } catch {
    // Unknown permission kinds or platforms: leave it out.
  }
  return info;
}

/** Lists files with their SHA-256 (hex). */
export async function hashFiles(
  paths: string[],
): Promise<{ path: string; sha256: string }[]> {
  const out = [];
  for (const path of paths) {
    const bytes = await Deno.readFile(path);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    out.push({
      path,
      sha256: [...digest].map((b) => b.toString(16).padStart(2, "0")).join(""),
    });
  }
  return out;
}

/**
 * Tracks the process's peak memory: the kernel's high-water mark of the
 * resident set (`getrusage` maxrss, the same number as `VmHWM`; reading
 * /proc/self/status would need `--allow-all` in Deno) where there is one,
 * else the largest RSS sampled every 100 ms.
 */
export class PeakMemory {
  #max = 0;
  #timer: ReturnType<typeof setInterval>;

  constructor() {
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 100);
  }

  #sample(): void {
    this.#max = Math.max(this.#max, Deno.memoryUsage().rss);
  }

  /** Stops sampling and returns the peak. */
  stop(): Manifest["peakMemory"] {
    clearInterval(this.#timer);
    this.#sample();
    try {
      const bytes = process.resourceUsage().maxRSS * 1024;
      if (bytes > 0) return { bytes, source: "getrusage" };
    } catch {
      // Not available on this platform: use the samples.
    }
    return { bytes: this.#max, source: "rss-sampled" };
  }
}
