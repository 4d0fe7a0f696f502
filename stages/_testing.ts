// A stage context for stage tests, outside the engine. Not part of the public API.

import { getGpu } from "../kernels/device.ts";
import type { StageContext } from "./types.ts";

/**
 * A context whose outputs and work folder live under a new temporary
 * folder (`ctx.outDir`); `fingerprint` defaults to "test".
 */
export async function testContext(overrides: Partial<StageContext> = {}): Promise<StageContext> {
  const outDir = await Deno.makeTempDir({ prefix: "ink-stage-" });
  const node = overrides.node ?? "test";
  return {
    node,
    gpu: getGpu,
    outDir,
    baseDir: outDir,
    progress: { start() {}, tick() {}, done() {} },
    async writeOutput(rel, write) {
      const path = `${outDir}/${rel}`;
      await write(path);
      return path;
    },
    debug() {},
    fingerprint: "test",
    async workDir() {
      const dir = `${outDir}/.work/${node}`;
      await Deno.mkdir(dir, { recursive: true });
      return dir;
    },
    ...overrides,
  };
}
