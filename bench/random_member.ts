/**
 * Writes a random-weight checkpoint of one ensemble member at its real sizes
 * (safetensors, the seed's key names), so inference benchmarks run without
 * downloaded weights. Weights are uniform in +-1/sqrt(fan-in), BatchNorm
 * variances 1, step counters 0; seeded, so the file is the same every time.
 *
 * Usage: deno run -A bench/random_member.ts OUT.safetensors --family cnn3d [--segformer mit-b0]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { tensorFrom, writeSafetensors } from "../data/checkpoint/mod.ts";
import type { CheckpointTensor } from "../data/checkpoint/tensor.ts";
import { memberConfig, memberSpec } from "../networks/families.ts";
import { isCounter } from "../networks/params.ts";

/** A small deterministic generator (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes the checkpoint unless it exists; returns its path. */
export async function writeRandomMember(
  path: string,
  family: string,
  segformer?: string,
  seed = 1,
): Promise<string> {
  try {
    await Deno.stat(path);
    return path;
  } catch { /* write it */ }
  const spec = memberSpec(memberConfig(family, segformer ? { segformer } : {}));
  const next = random(seed);
  const dict = new Map<string, CheckpointTensor>();
  for (const [key, shape] of spec.shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (isCounter(key)) {
      dict.set(key, tensorFrom({ shape, data: new BigInt64Array(n) }));
      continue;
    }
    const fanIn = shape.length > 1 ? n / shape[0] : 1;
    const scale = 1 / Math.sqrt(fanIn);
    const data = key.endsWith("running_var")
      ? new Float32Array(n).fill(1)
      : key.endsWith("running_mean")
      ? new Float32Array(n)
      : Float32Array.from({ length: n }, () => (next() * 2 - 1) * scale);
    dict.set(key, tensorFrom({ shape, data }));
  }
  const tmp = `${path}.partial-${Deno.pid}`;
  await writeSafetensors(tmp, dict, { metadata: { format: "pt", note: "random weights" } });
  await Deno.rename(tmp, path);
  return path;
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    allowPositionals: true,
    options: { family: { type: "string" }, segformer: { type: "string" } },
  });
  if (positionals.length !== 1 || !values.family) {
    console.error("usage: random_member.ts OUT.safetensors --family NAME [--segformer mit-bN]");
    Deno.exit(2);
  }
  await writeRandomMember(positionals[0], values.family, values.segformer);
}
