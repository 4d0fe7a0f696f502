/**
 * Test helpers for training: the tiny member configs of the network
 * fixtures and the gradient fixtures' folder.
 *
 * @module
 */

import { lowbias32 } from "../kernels/hash.ts";
import { fileURLToPath } from "node:url";
import { type MemberConfig, memberConfig } from "../networks/families.ts";
import type { SegformerConfig } from "../networks/segformer_config.ts";
import { StateDict, tensorFrom } from "../data/checkpoint/tensor.ts";

/** tests/fixtures/networks/ (random-weight checkpoints of every family). */
export const NETWORKS = fileURLToPath(new URL("../tests/fixtures/networks/", import.meta.url));
/** tests/fixtures/grads/ (PyTorch gradients, parity run). */
export const GRADS = fileURLToPath(new URL("../tests/fixtures/grads/", import.meta.url));

/** The small SegFormer of the tiny fixtures (gen_networks.py's TINY). */
export function tinySegformer(channels: number): Partial<SegformerConfig> {
  return {
    num_channels: channels,
    hidden_sizes: [8, 16, 24, 32],
    depths: [2, 1, 1, 2],
    num_attention_heads: [1, 2, 2, 4],
    sr_ratios: [8, 4, 2, 1],
    decoder_hidden_size: 20,
    num_labels: 1,
  };
}

/** The member config of a tiny fixture case. */
export function tinyConfig(family: "cnn3d" | "unet3d" | "unetr_mc"): MemberConfig {
  if (family === "unetr_mc") {
    return memberConfig(family, {
      segformer: { ...tinySegformer(32), num_labels: 3 },
      unetr: {
        img_size: [16, 64, 64],
        feature_size: 2,
        hidden_size: 16,
        mlp_dim: 32,
        num_heads: 4,
        out_channels: 32,
      },
    });
  }
  return memberConfig(family, { segformer: tinySegformer(family === "cnn3d" ? 32 : 16) });
}

/** Chris Wellons' lowbias32 integer hash (mirrored in tests/fixtures/grads/gen_parity_b0.py). */
export { lowbias32 };

/** n uniforms in [0, 1) of stream k: lowbias32(i + 0x9E3779B9 (k + 1)) / 2^32. */
export function hashUniform(k: number, n: number): Float64Array {
  const base = Number((0x9e3779b9n * BigInt(k + 1)) & 0xffffffffn);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = lowbias32((i + base) >>> 0) / 2 ** 32;
  return out;
}

/** The half-width of a tensor's hashed init, as gen_parity_b0.py's `scale` (0: constant). */
function hashScale(key: string, shape: readonly number[]): number {
  if (key.endsWith("running_mean") || key.endsWith("num_batches_tracked")) return 0;
  if (shape.length === 1 && (key.endsWith(".weight") || key.includes("running_var"))) return 0;
  if (key.startsWith("xy_encoder_2d.")) return key.endsWith(".bias") ? 0 : 0.02 * Math.sqrt(3);
  if (shape.length > 1) return 1 / Math.sqrt(shape[1] * shape.slice(2).reduce((a, b) => a * b, 1));
  return 0.5;
}

/** FNV-1a (32-bit) of a state-dict key, as gen_parity_b0.py's `key_seed`. */
export function keySeed(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * A member's weights from the hash, as gen_parity_b0.py builds them: each tensor's
 * stream is seeded by its key's name, so the order of the keys does not matter.
 */
export function hashedWeights(spec: ReadonlyMap<string, number[]>): StateDict {
  const dict = new StateDict("");
  for (const [key, shape] of spec) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (key.endsWith("num_batches_tracked")) {
      dict.set(key, tensorFrom({ shape, data: new BigInt64Array(1) }));
    } else {
      const a = hashScale(key, shape);
      const data = new Float32Array(n);
      if (a > 0) {
        const u = hashUniform(keySeed(key), n);
        for (let i = 0; i < n; i++) data[i] = (2 * u[i] - 1) * a;
      } else {
        data.fill(key.endsWith("running_var") || key.endsWith(".weight") ? 1 : 0);
      }
      dict.set(key, tensorFrom({ shape, data }));
    }
  }
  return dict;
}
