/**
 * One member of the seed's ensemble: a 3D encoder, a max over depth, a
 * SegFormer and two learned upscalers, with its weights on the GPU.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import type { GpuTensor } from "../kernels/tensor.ts";
import { encode3d, splitQkv } from "./encoders3d.ts";
import { encoderSpec, type MemberConfig } from "./families.ts";
import { gpuOps, PreparedWeights } from "./gpu_ops.ts";
import { checkKeys, StateDict, stripPrefix } from "../data/checkpoint/mod.ts";
import type { Ops } from "./ops.ts";
import { ParamSpec } from "./params.ts";
import { segformer, upscale } from "./segformer.ts";
import { segformerSpec, upscalerSpec } from "./specs.ts";
import { type HostTensor, Weights } from "./weights.ts";

/** Which parts of a member a network holds (stages load only theirs). */
export type Part = "encoder" | "segformer" | "upscalers";

/** The keys of the parts of a member, with their checkpoint prefixes. */
export function partsSpec(m: MemberConfig, parts: readonly Part[]): ParamSpec {
  const s = new ParamSpec();
  if (parts.includes("encoder")) s.nest(m.encoderPrefix, encoderSpec(m.encoder));
  if (parts.includes("segformer")) s.nest(m.segformerPrefix, segformerSpec(m.segformer));
  if (parts.includes("upscalers")) s.nest("", upscalerSpec(m.segformer.num_labels));
  return s;
}

/** Checkpoint key prefixes owned by each part (cnn3d's encoder keys are `conv3d_N.…`). */
function partPrefixes(m: MemberConfig, parts: readonly Part[]): string[] {
  return parts.map((p) =>
    p === "encoder"
      ? (m.encoderPrefix || "conv3d_")
      : p === "segformer"
      ? m.segformerPrefix
      : "upscaler"
  );
}

/**
 * Checks a checkpoint against the parts of a member, strictly: every key
 * the parts own must be present with its shape and no other key may sit
 * under their prefixes (`module.` prefixes are stripped first).
 *
 * @throws {UserError} listing missing, unexpected and wrongly shaped keys.
 */
export function checkMember(dict: StateDict, m: MemberConfig, parts: readonly Part[]): StateDict {
  const plain = stripPrefix(dict);
  const prefixes = partPrefixes(m, parts);
  const owned = parts.length === 3
    ? plain
    : new StateDict(dict.path, [...plain].filter(([k]) => prefixes.some((p) => k.startsWith(p))));
  checkKeys(
    owned,
    partsSpec(m, parts).shapes,
    parts.length === 3 ? m.family : `${m.family} (${parts.join(", ")})`,
  );
  return plain;
}

/** A member network on the GPU. */
export class Member {
  readonly config: MemberConfig;
  readonly gpu: Gpu;
  readonly parts: readonly Part[];
  #weights: Weights;
  #prepared = new PreparedWeights();

  private constructor(gpu: Gpu, config: MemberConfig, parts: readonly Part[], weights: Weights) {
    this.gpu = gpu;
    this.config = config;
    this.parts = parts;
    this.#weights = weights;
  }

  /** Checks a checkpoint strictly against `parts` and uploads their weights. */
  static load(
    gpu: Gpu,
    config: MemberConfig,
    dict: StateDict,
    parts: readonly Part[] = ["encoder", "segformer", "upscalers"],
  ): Promise<Member> {
    const plain = checkMember(dict, config, parts);
    return Member.upload(gpu, config, (key) => plain.get(key)!, parts);
  }

  /** Uploads the weights of `parts`; `lookup` returns each key of {@linkcode partsSpec}. */
  static async upload(
    gpu: Gpu,
    config: MemberConfig,
    lookup: (key: string) => HostTensor,
    parts: readonly Part[],
  ): Promise<Member> {
    const weights = await Weights.upload(gpu, partsSpec(config, parts), lookup);
    if (parts.includes("encoder") && config.encoder.kind === "unetr") {
      splitQkv(gpu, config.encoder.config, weights.at(config.encoderPrefix));
    }
    return new Member(gpu, config, parts, weights);
  }

  /** The weights on the GPU, by checkpoint key (training updates them in place). */
  get weights(): Weights {
    return this.#weights;
  }

  /** (N, 1, D, H, W) -> (N, C, D, H, W). `x` stays the caller's. */
  encode(ops: Ops, x: GpuTensor): GpuTensor {
    return encode3d(ops, this.config.encoder, this.#weights.at(this.config.encoderPrefix), x);
  }

  /**
   * (N, 1, D, H, W) -> the max over depth of the encoder's features,
   * (N, C, H, W), without materialising the full 3D output (see encode3d).
   */
  encodeFlat(ops: Ops, x: GpuTensor): GpuTensor {
    return encode3d(ops, this.config.encoder, this.#weights.at(this.config.encoderPrefix), x, true);
  }

  /** (N, C, H, W) -> upscaled logits (N, L, H, W), or the member's one output channel. `x` stays the caller's. */
  segment(ops: Ops, x: GpuTensor, allChannels = false): GpuTensor {
    const logits = segformer(
      ops,
      this.config.segformer,
      this.#weights.at(this.config.segformerPrefix),
      x,
    );
    const up = upscale(ops, this.#weights, logits);
    if (this.config.outputChannel === undefined || allChannels) return up;
    const one = ops.channel(up, this.config.outputChannel);
    ops.free(up);
    return one;
  }

  /** The whole member: (N, 1, D, H, W) in [0, 1] -> logits (N, L, H, W), recorded and submitted. */
  forward(x: GpuTensor): GpuTensor {
    const ops = this.ops(`member/${this.config.family}`);
    const flat = this.encodeFlat(ops, x);
    const out = this.segment(ops, flat);
    ops.free(flat);
    ops.rec.submit();
    return out;
  }

  /** Ops on a new recorder, sharing this member's prepared weights. */
  ops(label: string): Ops {
    return gpuOps(this.gpu, this.gpu.kernels.recorder(label), this.#prepared);
  }

  /** Releases the weights. */
  release(): void {
    this.#prepared.release();
    this.#weights.release();
  }
}
