/**
 * The network stages: `encode_3d` (3D encoder), `segment_2d` (SegFormer and
 * upscalers) and `network`, the shorthand for one whole ensemble member
 * (`encode_3d -> flatten_depth -> segment_2d` in one node). Each loads its
 * part of one checkpoint by key prefix; tile batches stay on the GPU.
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import { loadCheckpoint, type StateDict } from "../data/checkpoint/mod.ts";
import { FAMILIES, type MemberConfig, memberConfig } from "../networks/families.ts";
import { Member, type Part } from "../networks/member.ts";
import type { GpuTensor } from "../kernels/tensor.ts";
import type {
  FilesPort,
  GpuBatch,
  MapStream,
  PortSpec,
  Stage,
  StageContext,
  TileStream,
} from "./types.ts";
import type { Ops } from "../networks/ops.ts";
import { makeBatch } from "./tile_crop.ts";

const segformerParam = v.optional(
  v.pipe(
    v.union([v.string(), v.record(v.string(), v.unknown())]),
    v.description(
      "SegFormer preset (mit-b0..mit-b5) or HF SegformerConfig fields; default: the family's ensemble preset",
    ),
  ),
);

const memberParams = {
  family: v.pipe(
    v.picklist(FAMILIES),
    v.description("Ensemble member family, as the seed names it"),
  ),
  weights: v.pipe(
    v.string(),
    v.minLength(1),
    v.description(
      "Checkpoint: PyTorch .pth (state dict, with or without module.) or .safetensors; relative to weights_dir when set",
    ),
  ),
  weights_dir: v.optional(
    v.pipe(
      v.string(),
      v.description(
        "Folder that a relative weights path is looked up in (override for all: --set '*.weights_dir=DIR')",
      ),
    ),
  ),
  segformer: segformerParam,
  unetr: v.optional(
    v.pipe(
      v.record(v.string(), v.unknown()),
      v.description(
        "UNETR overrides (img_size, hidden_size, num_layers, ...); the seed's sizes by default",
      ),
    ),
  ),
};

const params = v.object(memberParams);
type MemberParams = v.InferOutput<typeof params>;

const networkParams = v.object({
  ...memberParams,
  weights: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1),
      v.description(
        "Checkpoint: PyTorch .pth (state dict, with or without module.) or .safetensors; relative to weights_dir when set; not needed when the checkpoint input is connected",
      ),
    ),
  ),
  checkpoint: v.optional(
    v.pipe(
      v.picklist(["final_swa", "final", "best"]),
      v.description("Which file of a connected `train` node's checkpoints to load"),
    ),
    "final_swa",
  ),
});
type NetworkParams = v.InferOutput<typeof networkParams>;

/** Checkpoints read by this process, so the stages of one member read the file once. */
const checkpoints = new Map<string, Promise<StateDict>>();

function checkpoint(path: string): Promise<StateDict> {
  let p = checkpoints.get(path);
  if (!p) {
    p = loadCheckpoint(path);
    checkpoints.set(path, p);
    p.catch(() => checkpoints.delete(path));
  }
  return p;
}

function config(p: MemberParams): MemberConfig {
  return memberConfig(p.family, {
    segformer: p.segformer as string | Record<string, never> | undefined,
    unetr: p.unetr as Record<string, never> | undefined,
  });
}

/** Loads the `parts` of a member's checkpoint onto the GPU, strictly. */
async function loadMember(ctx: StageContext, p: MemberParams, parts: Part[]): Promise<Member> {
  const cfg = config(p);
  const dict = await checkpoint(p.weights);
  return Member.load(await ctx.gpu(), cfg, dict, parts);
}

/**
 * Runs `fn` on every batch on a fresh recorder of the member's ops, submits,
 * and releases the member when the stream ends.
 */
async function* mapBatches(
  member: Member,
  label: string,
  batches: AsyncIterable<GpuBatch>,
  fn: (ops: Ops, x: GpuTensor) => GpuTensor,
): AsyncGenerator<GpuBatch> {
  try {
    for await (const b of batches) {
      const ops = member.ops(label);
      const y = fn(ops, b.tensor);
      ops.rec.submit();
      b.release();
      yield makeBatch(y, b.origins, b.count);
    }
  } finally {
    member.release();
  }
}

const TILES_IN: PortSpec = {
  kind: "tiles",
  dtype: "f32",
  shape: "(B, 1, D, T, T)",
  range: [0, 1],
  description: "Input tiles",
};

const LOGITS_OUT: PortSpec = {
  kind: "maps",
  dtype: "f32",
  shape: "(B, L, T, T)",
  description: "Ink logits at full tile resolution",
};

/** Where missing weight files come from, for the one error that lists them. */
export const WEIGHTS_HINT =
  "the seed published its ensemble weights in the Kaggle dataset ryches/unet3d (reported missing there since 2023); train them with pipelines/train-cnn3d-segformer.yaml (and its unet3d siblings)";

/** Logit channels a member's stream carries (unetr_mc keeps only ink). */
function outputChannels(m: Member): number {
  return m.config.outputChannel === undefined ? m.config.segformer.num_labels : 1;
}

/** The `encode_3d` stage. */
export const encode3d: Stage<MemberParams> = {
  name: "encode_3d",
  version: "1",
  description: "Run a member's 3D encoder (cnn3d, UNet3D or UNETR) on tile batches",
  params,
  pathParams: ["weights"],
  pathBase: { weights: "weights_dir" },
  missingPathHint: WEIGHTS_HINT,
  inputs: { tiles: TILES_IN },
  outputs: {
    features: { kind: "tiles", dtype: "f32", shape: "(B, C, D, T, T)", description: "3D features" },
  },
  async run(ctx, inputs, p) {
    const tiles = inputs.tiles as TileStream;
    const member = await loadMember(ctx, p, ["encoder"]);
    const out: TileStream = {
      ...tiles,
      channels: member.config.segformer.num_channels,
      batches: mapBatches(member, "encode_3d", tiles.batches, (ops, x) => member.encode(ops, x)),
    };
    return { features: out };
  },
};

/** The `segment_2d` stage. */
export const segment2d: Stage<MemberParams> = {
  name: "segment_2d",
  version: "1",
  description: "Run a member's SegFormer and its two learned upscalers on depth-reduced maps",
  params,
  pathParams: ["weights"],
  pathBase: { weights: "weights_dir" },
  missingPathHint: WEIGHTS_HINT,
  inputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(B, C, T, T)",
      description: "Depth-reduced features",
    },
  },
  outputs: { logits: LOGITS_OUT },
  async run(ctx, inputs, p) {
    const maps = inputs.maps as MapStream;
    const member = await loadMember(ctx, p, ["segformer", "upscalers"]);
    if (maps.channels !== member.config.segformer.num_channels) {
      throw new UserError(
        `the maps have ${maps.channels} channels but the ${p.family} SegFormer takes ${member.config.segformer.num_channels}`,
      );
    }
    const out: MapStream = {
      ...maps,
      channels: outputChannels(member),
      batches: mapBatches(member, "segment_2d", maps.batches, (ops, x) => member.segment(ops, x)),
    };
    return { logits: out };
  },
};

/** The `network` stage: one whole member, equivalent to encode_3d -> flatten_depth (max) -> segment_2d. */
export const network: Stage<NetworkParams> = {
  name: "network",
  version: "1",
  description: "One ensemble member in one node: encode_3d -> flatten_depth (max) -> segment_2d",
  params: networkParams,
  pathParams: ["weights"],
  pathBase: { weights: "weights_dir" },
  missingPathHint: WEIGHTS_HINT,
  inputs: {
    tiles: TILES_IN,
    checkpoint: {
      kind: "files",
      description: "A `train` node's checkpoints (instead of the weights parameter)",
      optional: true,
    },
  },
  outputs: { logits: LOGITS_OUT },
  async run(ctx, inputs, p) {
    const tiles = inputs.tiles as TileStream;
    const trained = inputs.checkpoint as FilesPort | undefined;
    let weights = p.weights;
    if (trained) {
      weights = trained.files.find((f) => f.endsWith(`_${p.checkpoint}.safetensors`));
      if (!weights) {
        throw new UserError(
          `node "${ctx.node}": the connected checkpoints hold no *_${p.checkpoint}.safetensors (parameter "checkpoint")`,
        );
      }
    }
    if (!weights) {
      throw new UserError(
        `node "${ctx.node}": parameter "weights" is missing (or connect a train node's checkpoints)`,
      );
    }
    const member = await loadMember(ctx, { ...p, weights }, [
      "encoder",
      "segformer",
      "upscalers",
    ]);
    const out: MapStream = {
      kind: "maps",
      grid: tiles.grid,
      channels: outputChannels(member),
      total: tiles.total,
      mask: tiles.mask,
      labels: tiles.labels,
      tta: tiles.tta,
      resume: tiles.resume,
      batches: mapBatches(member, "network", tiles.batches, (ops, x) => {
        const flat = member.encodeFlat(ops, x);
        const y = member.segment(ops, flat);
        ops.free(flat);
        return y;
      }),
    };
    return { logits: out };
  },
};
