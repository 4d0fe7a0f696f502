/**
 * Which of the seed's model families a state dict holds, told from a few
 * marker keys and shapes (seed spec §2 and §6).
 *
 * @module
 */

/** The seed's ensemble families, and "segformer" for a bare SegFormer / MiT checkpoint. */
export type SeedFamily =
  | "cnn3d"
  | "cnn3d_more_filters"
  | "unet3d"
  | "unet3d_jumbo"
  | "unetr"
  | "unetr_mc"
  | "segformer";

/** MiT variant names. */
export type SegformerVariant = "b0" | "b1" | "b2" | "b3" | "b4" | "b5";

/** The SegFormer part of a checkpoint. */
export interface SegformerInfo {
  /** Key prefix of the SegFormer (`xy_encoder_2d.`, `encoder_2d.` or `""`). */
  prefix: string;
  /** The MiT variant whose hidden sizes and depths match, if any. */
  variant?: SegformerVariant;
  /** Channels of each stage, from `patch_embeddings.{i}.proj.weight`. */
  hiddenSizes: number[];
  /** Transformer layers of each stage, counted from `encoder.block.{i}.{j}` keys. */
  depths: number[];
  /** Input channels (`patch_embeddings.0.proj.weight` dim 1). */
  numChannels: number;
  /** Output labels (`decode_head.classifier.weight` dim 0); absent without a decode head. */
  numLabels?: number;
}

/** What {@linkcode detectFamily} found. */
export interface FamilyInfo {
  /** The family. */
  family: SeedFamily;
  /** The SegFormer part; absent when its patch embeddings are missing. */
  segformer?: SegformerInfo;
}

const VARIANTS: [SegformerVariant, hidden: string, depths: string][] = [
  ["b0", "32,64,160,256", "2,2,2,2"],
  ["b1", "64,128,320,512", "2,2,2,2"],
  ["b2", "64,128,320,512", "3,4,6,3"],
  ["b3", "64,128,320,512", "3,4,18,3"],
  ["b4", "64,128,320,512", "3,8,27,3"],
  ["b5", "64,128,320,512", "3,6,40,3"],
];

/** Tensor shapes by key, as in a state dict. */
export type Shapes = ReadonlyMap<string, { readonly shape: readonly number[] }>;

/**
 * Tells which seed family a state dict holds (keys may carry a leading
 * `module.`), or `undefined` when it looks like none:
 *
 * - `conv3d_4.weight` with 32 / 64 outputs: cnn3d / cnn3d_more_filters;
 * - `model.final_conv.weight` with 16 / 32 outputs: unet3d / unet3d_jumbo;
 * - `encoder.encoder2.blocks.0.0.conv.weight` (conv_block): unetr, or
 *   `encoder.encoder2.blocks.0.conv.weight`: unetr_mc;
 * - `segformer.encoder.…` at the top: a bare SegFormer.
 *
 * @example
 * ```ts
 * import { detectFamily } from "./family.ts";
 * const info = detectFamily(new Map([["conv3d_4.weight", { shape: [64, 16, 3, 3, 3] }]]));
 * console.assert(info?.family === "cnn3d_more_filters" && info.segformer === undefined);
 * ```
 */
export function detectFamily(dict: Shapes): FamilyInfo | undefined {
  const shapes = new Map<string, readonly number[]>();
  for (const [key, { shape }] of dict) shapes.set(key.replace(/^module\./, ""), shape);
  const out = (key: string) => shapes.get(key)?.[0];
  const pick = (family: SeedFamily | undefined, prefix: string): FamilyInfo | undefined =>
    family && { family, segformer: segformerInfo(shapes, prefix) };

  if (shapes.has("conv3d_4.weight")) {
    const family = ({ 32: "cnn3d", 64: "cnn3d_more_filters" } as const)[out("conv3d_4.weight")!];
    return pick(family, "xy_encoder_2d.");
  }
  if (shapes.has("model.final_conv.weight")) {
    const family = ({ 16: "unet3d", 32: "unet3d_jumbo" } as const)[out("model.final_conv.weight")!];
    return pick(family, "encoder_2d.");
  }
  if (shapes.has("encoder.encoder2.blocks.0.0.conv.weight")) return pick("unetr", "encoder_2d.");
  if (shapes.has("encoder.encoder2.blocks.0.conv.weight")) return pick("unetr_mc", "encoder_2d.");
  if (shapes.has("segformer.encoder.patch_embeddings.0.proj.weight")) return pick("segformer", "");
  return undefined;
}

function segformerInfo(
  shapes: ReadonlyMap<string, readonly number[]>,
  prefix: string,
): SegformerInfo | undefined {
  const encoder = `${prefix}segformer.encoder.`;
  const first = shapes.get(`${encoder}patch_embeddings.0.proj.weight`);
  if (!first) return undefined;
  const hiddenSizes: number[] = [];
  for (let i = 0, s; (s = shapes.get(`${encoder}patch_embeddings.${i}.proj.weight`)); i++) {
    hiddenSizes.push(s[0]);
  }
  const depths = hiddenSizes.map(() => 0);
  const layer = new RegExp(`^${encoder.replaceAll(".", "\\.")}block\\.(\\d+)\\.(\\d+)\\.`);
  for (const key of shapes.keys()) {
    const m = layer.exec(key);
    if (m && +m[1] < depths.length) depths[+m[1]] = Math.max(depths[+m[1]], +m[2] + 1);
  }
  const variant = VARIANTS.find(([, h, d]) => h === hiddenSizes.join() && d === depths.join())?.[0];
  const numLabels = shapes.get(`${prefix}decode_head.classifier.weight`)?.[0];
  return {
    prefix,
    ...(variant && { variant }),
    hiddenSizes,
    depths,
    numChannels: first[1],
    ...(numLabels !== undefined && { numLabels }),
  };
}
