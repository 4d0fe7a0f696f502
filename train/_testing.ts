/**
 * Test helpers for training: the tiny member configs of the network
 * fixtures and the gradient fixtures' folder.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type MemberConfig, memberConfig } from "../networks/families.ts";
import type { SegformerConfig } from "../networks/segformer_config.ts";

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
