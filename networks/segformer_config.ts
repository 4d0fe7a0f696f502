/**
 * SegFormer (MiT) configurations: the b0-b5 presets of HF's
 * `nvidia/mit-b*` and explicit configs with the HF `SegformerConfig` field
 * names, as the seed's inference notebook builds them.
 *
 * @module
 */

import { UserError } from "../data/errors.ts";

/** A SegFormer configuration, in HF `SegformerConfig` field names. */
export interface SegformerConfig {
  num_channels: number;
  hidden_sizes: number[];
  depths: number[];
  num_attention_heads: number[];
  sr_ratios: number[];
  patch_sizes: number[];
  strides: number[];
  mlp_ratios: number[];
  decoder_hidden_size: number;
  num_labels: number;
  /** Training only: stochastic depth, rising linearly over the blocks to this rate (HF: 0.1). */
  drop_path_rate?: number;
  /** Training only: dropout before the decode head's classifier (HF: 0.1). */
  classifier_dropout_prob?: number;
  /**
   * Training only: dropout after each block's attention output and twice in
   * its Mix-FFN (after GELU and after the second dense layer), HF's
   * `hidden_dropout_prob` (HF: 0.0).
   */
  hidden_dropout_prob?: number;
}

type Preset =
  & Pick<SegformerConfig, "hidden_sizes" | "depths" | "decoder_hidden_size">
  & Partial<
    Pick<SegformerConfig, "drop_path_rate" | "classifier_dropout_prob" | "hidden_dropout_prob">
  >;

const WIDE = [64, 128, 320, 512];

/** The MiT presets (seed-spec 2.1). */
export const SEGFORMER_PRESETS: Record<string, Preset> = {
  "mit-b0": { hidden_sizes: [32, 64, 160, 256], depths: [2, 2, 2, 2], decoder_hidden_size: 256 },
  "mit-b1": { hidden_sizes: WIDE, depths: [2, 2, 2, 2], decoder_hidden_size: 256 },
  "mit-b2": { hidden_sizes: WIDE, depths: [3, 4, 6, 3], decoder_hidden_size: 768 },
  "mit-b3": { hidden_sizes: WIDE, depths: [3, 4, 18, 3], decoder_hidden_size: 768 },
  "mit-b4": { hidden_sizes: WIDE, depths: [3, 8, 27, 3], decoder_hidden_size: 768 },
  "mit-b5": { hidden_sizes: WIDE, depths: [3, 6, 40, 3], decoder_hidden_size: 768 },
  // The seed's CNN3D_SegformerBIG (its b5 member's training class): mit-b5 with every
  // training-only dropout at 0.3. The same weights as mit-b5; inference is identical.
  "mit-b5-big": {
    hidden_sizes: WIDE,
    depths: [3, 6, 40, 3],
    decoder_hidden_size: 768,
    drop_path_rate: 0.3,
    classifier_dropout_prob: 0.3,
    hidden_dropout_prob: 0.3,
  },
};

const DEFAULTS = {
  num_attention_heads: [1, 2, 5, 8],
  sr_ratios: [8, 4, 2, 1],
  patch_sizes: [7, 3, 3, 3],
  strides: [4, 2, 2, 2],
  mlp_ratios: [4, 4, 4, 4],
  drop_path_rate: 0.1,
  classifier_dropout_prob: 0.1,
  hidden_dropout_prob: 0,
};

/**
 * Resolves a preset name (`mit-b0`..`mit-b5`, also `b0`..`b5`) or a partial
 * config object (HF field names; a `preset` field may name the base) into a
 * full config, with the input channels and labels given.
 *
 * @example
 * ```ts
 * import { segformerConfig } from "./segformer_config.ts";
 * const c = segformerConfig("mit-b3", { num_channels: 32, num_labels: 1 });
 * console.assert(c.depths[2] === 18);
 * ```
 */
export function segformerConfig(
  spec: string | Partial<SegformerConfig> & { preset?: string },
  base: { num_channels: number; num_labels: number },
): SegformerConfig {
  const obj = typeof spec === "string" ? { preset: spec } : spec;
  const name = obj.preset?.startsWith("b") ? `mit-${obj.preset}` : obj.preset;
  let preset: Preset | undefined;
  if (name !== undefined) {
    preset = SEGFORMER_PRESETS[name];
    if (!preset) {
      throw new UserError(
        `Unknown SegFormer preset "${obj.preset}" (valid: ${
          Object.keys(SEGFORMER_PRESETS).join(", ")
        })`,
      );
    }
  }
  const known = new Set([
    ...Object.keys(DEFAULTS),
    ...Object.keys(SEGFORMER_PRESETS["mit-b0"]),
    "preset",
    "num_channels",
    "num_labels",
  ]);
  for (const k of Object.keys(obj)) {
    if (!known.has(k)) {
      throw new UserError(
        `Unknown SegFormer config field "${k}" (valid: ${[...known].join(", ")})`,
      );
    }
  }
  const c: SegformerConfig = {
    ...DEFAULTS,
    ...preset,
    ...base,
    ...withoutPreset(obj),
  } as SegformerConfig;
  for (
    const k of [
      "hidden_sizes",
      "depths",
      "num_attention_heads",
      "sr_ratios",
      "patch_sizes",
      "strides",
      "mlp_ratios",
    ] as const
  ) {
    if (
      !Array.isArray(c[k]) || c[k].length !== 4 || !c[k].every((x) => Number.isInteger(x) && x > 0)
    ) {
      throw new UserError(
        `SegFormer config field "${k}" must be 4 positive integers, got ${JSON.stringify(c[k])}`,
      );
    }
  }
  c.hidden_sizes.forEach((h, i) => {
    if (h % c.num_attention_heads[i] !== 0) {
      throw new UserError(
        `SegFormer stage ${i}: hidden size ${h} is not divisible by ${
          c.num_attention_heads[i]
        } heads`,
      );
    }
  });
  return c;
}

function withoutPreset(
  o: Partial<SegformerConfig> & { preset?: string },
): Partial<SegformerConfig> {
  const { preset: _, ...rest } = o;
  return rest;
}
