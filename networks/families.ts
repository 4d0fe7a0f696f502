/**
 * The model families of the seed's ensemble: what each one's checkpoint
 * holds (key prefixes, 3D encoder, SegFormer, labels), by the names the
 * seed's inference notebook uses.
 *
 * @module
 */

import { UserError } from "../data/errors.ts";
import { ParamSpec } from "./params.ts";
import { type SegformerConfig, segformerConfig } from "./segformer_config.ts";
import {
  cnn3dSpec,
  seedUnetrConfig,
  segformerSpec,
  type Unet3dConfig,
  unet3dSpec,
  type UnetrConfig,
  unetrSpec,
  upscalerSpec,
} from "./specs.ts";

/** Family names, as in the seed's `model_tuples`. */
export const FAMILIES = [
  "cnn3d",
  "cnn3d_more_filters",
  "unet3d",
  "unet3d_jumbo",
  "unetr",
  "unetr_mc",
] as const;

/** A family name. */
export type Family = typeof FAMILIES[number];

/** The 3D encoder of a member. */
export type Encoder3d =
  | { kind: "cnn3d"; out_channels: number }
  | { kind: "unet3d"; config: Unet3dConfig }
  | { kind: "unetr"; config: UnetrConfig };

/** Everything needed to build one ensemble member. */
export interface MemberConfig {
  family: Family;
  encoder: Encoder3d;
  /** Checkpoint key prefix of the 3D encoder ("" for cnn3d, whose keys are `conv3d_1.…`). */
  encoderPrefix: string;
  segformer: SegformerConfig;
  /** Checkpoint key prefix of the SegFormer (`xy_encoder_2d.` or `encoder_2d.`). */
  segformerPrefix: string;
  /** Logit channel returned (unetr_mc returns ink, channel 2 of 3), or undefined for all. */
  outputChannel?: number;
  /**
   * Training only: Dropout2d on the depth max, before SegFormer (the seed's
   * UNETR models: 0.1, and 0.2 for the multiclass one); none when absent.
   */
  flatDropout?: number;
}

interface FamilyInfo {
  encoder: (overrides: Partial<UnetrConfig>) => Encoder3d;
  encoderPrefix: string;
  segformerPrefix: string;
  /** The SegFormer preset of the family's ensemble member(s). */
  preset: string;
  labels: number;
  outputChannel?: number;
  flatDropout?: number;
}

const unet = (out: number): Unet3dConfig => ({
  in_channels: 1,
  out_channels: out,
  f_maps: 8,
  num_groups: 4,
  num_levels: 4,
});

const INFO: Record<Family, FamilyInfo> = {
  cnn3d: {
    encoder: () => ({ kind: "cnn3d", out_channels: 32 }),
    encoderPrefix: "",
    segformerPrefix: "xy_encoder_2d.",
    preset: "mit-b3",
    labels: 1,
  },
  cnn3d_more_filters: {
    encoder: () => ({ kind: "cnn3d", out_channels: 64 }),
    encoderPrefix: "",
    segformerPrefix: "xy_encoder_2d.",
    preset: "mit-b3",
    labels: 1,
  },
  unet3d: {
    encoder: () => ({ kind: "unet3d", config: unet(16) }),
    encoderPrefix: "model.",
    segformerPrefix: "encoder_2d.",
    preset: "mit-b3",
    labels: 1,
  },
  unet3d_jumbo: {
    encoder: () => ({ kind: "unet3d", config: unet(32) }),
    encoderPrefix: "model.",
    segformerPrefix: "encoder_2d.",
    preset: "mit-b5",
    labels: 1,
  },
  unetr: {
    encoder: (o) => ({ kind: "unetr", config: { ...seedUnetrConfig(true), ...o } }),
    encoderPrefix: "encoder.",
    segformerPrefix: "encoder_2d.",
    preset: "mit-b5",
    labels: 1,
    flatDropout: 0.1,
  },
  unetr_mc: {
    encoder: (o) => ({ kind: "unetr", config: { ...seedUnetrConfig(false), ...o } }),
    encoderPrefix: "encoder.",
    segformerPrefix: "encoder_2d.",
    preset: "mit-b5",
    labels: 3,
    outputChannel: 2,
    flatDropout: 0.2,
  },
};

/** The number of channels a 3D encoder gives SegFormer. */
export function encoderChannels(e: Encoder3d): number {
  return e.kind === "cnn3d" ? e.out_channels : e.config.out_channels;
}

/**
 * Builds a member's configuration from its family name and, optionally, a
 * SegFormer preset or explicit config (defaults to the family's ensemble
 * preset) and UNETR overrides (tests shrink it).
 *
 * @example
 * ```ts
 * import { memberConfig } from "./families.ts";
 * const m = memberConfig("unet3d");
 * console.assert(m.segformer.num_channels === 16 && m.segformerPrefix === "encoder_2d.");
 * ```
 */
export function memberConfig(
  family: string,
  options: {
    segformer?: string | Partial<SegformerConfig> & { preset?: string };
    unetr?: Partial<UnetrConfig>;
    unet3d?: Partial<Unet3dConfig>;
  } = {},
): MemberConfig {
  const info = INFO[family as Family];
  if (!info) {
    throw new UserError(`Unknown model family "${family}" (valid: ${FAMILIES.join(", ")})`);
  }
  const unetrKeys = Object.keys(seedUnetrConfig(true));
  for (const k of Object.keys(options.unetr ?? {})) {
    if (!unetrKeys.includes(k)) {
      throw new UserError(`Unknown UNETR config field "${k}" (valid: ${unetrKeys.join(", ")})`);
    }
  }
  let encoder = info.encoder(options.unetr ?? {});
  if (encoder.kind === "unet3d" && options.unet3d) {
    encoder = { kind: "unet3d", config: { ...encoder.config, ...options.unet3d } };
  }
  const segformer = segformerConfig(options.segformer ?? info.preset, {
    num_channels: encoderChannels(encoder),
    num_labels: info.labels,
  });
  if (segformer.num_channels !== encoderChannels(encoder)) {
    throw new UserError(
      `SegFormer num_channels ${segformer.num_channels} does not match the ${family} encoder's ${
        encoderChannels(encoder)
      } channels`,
    );
  }
  return {
    family: family as Family,
    encoder,
    encoderPrefix: info.encoderPrefix,
    segformer,
    segformerPrefix: info.segformerPrefix,
    outputChannel: info.outputChannel,
    flatDropout: info.flatDropout,
  };
}

/** The 3D encoder's keys (unprefixed). */
export function encoderSpec(e: Encoder3d): ParamSpec {
  switch (e.kind) {
    case "cnn3d":
      return cnn3dSpec(e.out_channels);
    case "unet3d":
      return unet3dSpec(e.config);
    case "unetr":
      return unetrSpec(e.config);
  }
}

/** Every key of a member's checkpoint, with prefixes, as the seed saved it (without `module.`). */
export function memberSpec(m: MemberConfig): ParamSpec {
  return new ParamSpec()
    .nest(m.encoderPrefix, encoderSpec(m.encoder))
    .nest(m.segformerPrefix, segformerSpec(m.segformer))
    .nest("", upscalerSpec(m.segformer.num_labels));
}
