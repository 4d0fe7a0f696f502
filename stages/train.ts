/**
 * The `train` stage: trains one ensemble member with the seed's recipe
 * (train/trainer.ts) on rows of a fragment, validating on other rows or on
 * a second fragment, and writes its checkpoints (safetensors, optionally
 * also PyTorch .pth with the seed's keys), a JSONL log and loss / F0.5
 * plots. Killed and started again with the same output folder, it resumes
 * from its last saved state (`OUT/.work/NODE/state.safetensors`) and ends
 * with the same weights.
 *
 * @module
 */

import * as v from "valibot";
import { join } from "node:path";
import { UserError } from "../data/errors.ts";
import {
  loadCheckpoint,
  readSafetensors,
  type StateDict,
  writePth,
  writeSafetensors,
} from "../data/checkpoint/mod.ts";
import type { CheckpointTensor } from "../data/checkpoint/tensor.ts";
import { FAMILIES, memberConfig } from "../networks/families.ts";
import { writePlot } from "../postprocess/plot.ts";
import { type AugmentConfig, NO_AUGMENT, SEED_AUGMENT } from "../train/augment.ts";
import { loadRegion } from "../train/data.ts";
import { initialWeights } from "../train/model.ts";
import { Rng } from "../train/rng.ts";
import {
  type EpochRecord,
  type Resume,
  type ResumeState,
  train,
  type TrainOptions,
} from "../train/trainer.ts";
import type { FilesPort, Stage, VolumePort } from "./types.ts";

const rows = (text: string) =>
  v.optional(
    v.pipe(
      v.tuple([v.pipe(v.number(), v.integer(), v.minValue(0)), v.pipe(v.number(), v.integer())]),
      v.check(([a, b]) => b > a, "the second row must be larger than the first"),
      v.description(text),
    ),
  );

const int = (min: number, def: number, text: string) =>
  v.optional(v.pipe(v.number(), v.integer(), v.minValue(min), v.description(text)), def);
const num = (min: number, def: number, text: string) =>
  v.optional(v.pipe(v.number(), v.minValue(min), v.description(text)), def);

const params = v.object({
  family: v.pipe(v.picklist(FAMILIES), v.description("Member family to train")),
  segformer: v.optional(
    v.pipe(
      v.union([v.string(), v.record(v.string(), v.unknown())]),
      v.description("SegFormer preset (mit-b0..mit-b5) or HF SegformerConfig fields"),
    ),
  ),
  unet3d: v.optional(
    v.pipe(v.record(v.string(), v.unknown()), v.description("3D U-Net overrides (f_maps, ...)")),
  ),
  unetr: v.optional(
    v.pipe(
      v.record(v.string(), v.unknown()),
      v.description("UNETR overrides (img_size must be [depth, tile, tile])"),
    ),
  ),
  init: v.optional(
    v.pipe(
      v.string(),
      v.description("Checkpoint to start from (.pth or .safetensors); random init when absent"),
    ),
  ),
  tile: int(32, 1024, "Tile edge (the seed: 1024, or 512 for UNETR)"),
  stride: int(0, 0, "Tile origin spacing; 0 = tile / 4 (the seed's)"),
  valid_stride: int(0, 0, "Validation tile spacing; 0 = tile / 4 (the seed's)"),
  batch: int(1, 9, "Tiles per step (the seed: 9)"),
  epochs: int(1, 30, "Epochs"),
  lr: num(0, 1e-4, "Peak learning rate (after the warmup)"),
  warmup_factor: num(1, 10, "Warmup: the first two epochs run at lr / warmup_factor"),
  min_lr: num(0, 1e-7, "Cosine floor"),
  weight_decay: num(0, 0.01, "AdamW weight decay (the seed's effective torch default)"),
  max_grad_norm: num(0, 100, "Clip the global gradient norm to this"),
  swa_start: int(0, 3, "First epoch averaged by SWA (epochs or more: no SWA)"),
  seed: int(0, 42, "Seed of initialisation, tile order and augmentations"),
  augment: v.optional(
    v.pipe(
      v.union([v.picklist(["seed", "none"]), v.record(v.string(), v.number())]),
      v.description(
        "Augmentations: seed (the seed's list and probabilities), none, or probabilities by name (hflip, vflip, rot90, brightnessContrast, channelDropout, shiftScaleRotate, noiseBlur, gridDistortion, coarseDropout)",
      ),
    ),
    "seed",
  ),
  balance: v.optional(
    v.pipe(v.boolean(), v.description("Each epoch: as many tiles without ink as with")),
    false,
  ),
  min_mask_coverage: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0),
      v.maxValue(1),
      v.description(
        "Train only on tiles at least this fraction papyrus (0: the seed's rule, any data)",
      ),
    ),
    0,
  ),
  dropout: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "The seed's training-only dropouts: SegFormer drop-path (0 to 0.1 over the blocks) and the decode head's dropout (0.1)",
      ),
    ),
    true,
  ),
  loss_mask: v.optional(
    v.pipe(
      v.boolean(),
      v.description(
        "Count only papyrus-mask pixels in the loss (a recipe change: the seed counts every pixel; binary recipes)",
      ),
    ),
    false,
  ),
  precision: v.optional(
    v.pipe(
      v.picklist(["f32", "mixed"]),
      v.description(
        "f32, or mixed: linear layers in float16 with a dynamic loss scale (torch.amp's autocast + GradScaler; needs the adapter's shader-f16)",
      ),
    ),
    "f32",
  ),
  steps_per_epoch: int(0, 0, "At most this many steps per epoch (0: every tile once)"),
  train_rows: rows("Rows [y0, y1) to train on, as their own padded fragment (default: all)"),
  valid_rows: rows("Rows [y0, y1) to validate on each epoch (default: none, or the valid input)"),
  checkpoint_every: int(0, 25, "Save the resumable state every N steps (0: at epoch ends)"),
  name: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^[\w.-]+$/, "letters, digits, '_', '-' and '.' only"),
      v.description("Checkpoint file prefix: NAME_best, NAME_final, NAME_final_swa"),
    ),
    "model",
  ),
  export_pth: v.optional(
    v.pipe(v.boolean(), v.description("Also write each checkpoint as a PyTorch .pth")),
    false,
  ),
});

type TrainParams = v.InferOutput<typeof params>;

function augmentConfig(a: TrainParams["augment"]): AugmentConfig {
  if (a === "seed") return SEED_AUGMENT;
  if (a === "none") return NO_AUGMENT;
  const out: AugmentConfig = { ...NO_AUGMENT };
  for (const [k, p] of Object.entries(a)) {
    if (!(k in SEED_AUGMENT)) {
      throw new UserError(
        `unknown augmentation "${k}" (valid: ${Object.keys(SEED_AUGMENT).join(", ")})`,
      );
    }
    if (!(p >= 0 && p <= 1)) {
      throw new UserError(`augmentation "${k}" needs a probability in [0, 1]`);
    }
    (out as unknown as Record<string, number>)[k] = p;
  }
  return out;
}

/** Atomically replaces `path` (write a sibling, then rename). */
async function atomic(path: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${path}.partial-${Deno.pid}`;
  await write(tmp);
  await Deno.rename(tmp, path);
}

async function readState(
  path: string,
  fingerprint: string,
): Promise<Resume | undefined> {
  try {
    await Deno.stat(path);
  } catch {
    return undefined;
  }
  // Only the header: the fingerprint decides whether the tensors are read at all.
  const header = await (async () => {
    using file = await Deno.open(path);
    const head = new Uint8Array(8);
    await file.read(head);
    const len = Number(new DataView(head.buffer).getBigUint64(0, true));
    const json = new Uint8Array(len);
    for (let n = 0; n < len;) n += (await file.read(json.subarray(n))) ?? len;
    return JSON.parse(new TextDecoder().decode(json));
  })();
  const meta = header.__metadata__ ?? {};
  if (meta.fingerprint !== fingerprint) return undefined;
  const tensors = await readSafetensors(path) as Map<string, CheckpointTensor>;
  return { state: JSON.parse(meta.state) as ResumeState, tensors };
}

/** The `train` stage. */
export const trainStage: Stage<TrainParams> = {
  name: "train",
  version: "2",
  description:
    "Train one member with the seed's recipe (BCE+Dice, AdamW, warmup+cosine, SWA, augmentations)",
  params,
  pathParams: ["init"],
  inputs: {
    volume: {
      kind: "volume",
      description: "Fragment with ink labels (and mask) to train on",
    },
    valid: {
      kind: "volume",
      description: "Held-out fragment for validation (default: valid_rows of the input)",
      optional: true,
    },
  },
  outputs: {
    checkpoints: {
      kind: "files",
      description: "NAME_best / NAME_final / NAME_final_swa .safetensors (and .pth), log, plots",
    },
  },
  async run(ctx, inputs, p) {
    const vol = inputs.volume as VolumePort;
    const validVol = inputs.valid as VolumePort | undefined;
    const [depth, height] = vol.source.shape;
    const config = memberConfig(p.family, {
      segformer: p.segformer as string | Record<string, never> | undefined,
      unet3d: p.unet3d as Record<string, never> | undefined,
      unetr: p.unetr as Record<string, never> | undefined,
    });
    if (config.encoder.kind === "unetr") {
      const [d, h, w] = config.encoder.config.img_size;
      if (d !== depth || h !== p.tile || w !== p.tile) {
        throw new UserError(
          `node "${ctx.node}": UNETR's img_size [${d}, ${h}, ${w}] must be [depth, tile, tile] = [${depth}, ${p.tile}, ${p.tile}] (parameter "unetr")`,
        );
      }
    }
    if (p.loss_mask && config.segformer.num_labels > 1) {
      throw new UserError(
        `node "${ctx.node}": parameter "loss_mask" applies to one-label recipes; the multiclass recipe already has a background class`,
      );
    }
    const stride = p.stride || p.tile / 4;
    const [t0, t1] = p.train_rows ?? [0, height];
    if (t1 > height) {
      throw new UserError(
        `parameter "train_rows" ends at ${t1}, past the fragment's ${height} rows`,
      );
    }
    if (!vol.labels) {
      throw new UserError(`"${vol.source.path}" has no inklabels.png to train on`);
    }
    const trainRegion = await loadRegion(vol, t0, t1, p.tile);
    let validRegion;
    if (validVol) {
      validRegion = await loadRegion(validVol, 0, validVol.source.shape[1], p.tile);
    } else if (p.valid_rows) {
      const [v0, v1] = p.valid_rows;
      if (v1 > height) {
        throw new UserError(
          `parameter "valid_rows" ends at ${v1}, past the fragment's ${height} rows`,
        );
      }
      validRegion = await loadRegion(vol, v0, v1, p.tile);
    }
    const options: TrainOptions = {
      config,
      tile: p.tile,
      stride,
      validStride: p.valid_stride || p.tile / 4,
      batch: p.batch,
      epochs: p.epochs,
      lr: p.lr,
      warmupFactor: p.warmup_factor,
      minLr: p.min_lr,
      weightDecay: p.weight_decay,
      maxGradNorm: p.max_grad_norm,
      swaStart: p.swa_start,
      seed: p.seed,
      augment: augmentConfig(p.augment),
      balance: p.balance,
      minMaskCoverage: p.min_mask_coverage,
      lossMask: p.loss_mask,
      dropout: p.dropout,
      precision: p.precision,
      stepsPerEpoch: p.steps_per_epoch,
      checkpointEvery: p.checkpoint_every,
    };
    const init: StateDict = p.init
      ? await loadCheckpoint(p.init)
      : initialWeights(config, new Rng(p.seed));
    const work = await ctx.workDir();
    const statePath = join(work, "state.safetensors");
    const resume = await readState(statePath, ctx.fingerprint);
    if (resume) {
      ctx.debug(1, `resuming at epoch ${resume.state.epoch}, step ${resume.state.step}`);
    }
    const files: string[] = [];
    const out = (rel: string, write: (tmp: string) => Promise<void>) =>
      ctx.writeOutput(rel, write).then((f) => {
        if (!files.includes(f)) files.push(f);
      });
    const writeLog = async (history: readonly EpochRecord[]) => {
      await out(
        `${p.name}_log.jsonl`,
        (tmp) => Deno.writeTextFile(tmp, history.map((r) => JSON.stringify(r)).join("\n") + "\n"),
      );
      const x = history.map((r) => r.epoch);
      await out(
        `${p.name}_loss.png`,
        (tmp) =>
          writePlot(tmp, [{ name: "train loss", x, y: history.map((r) => r.loss) }], {
            title: "training loss",
            xLabel: "epoch",
            yLabel: "loss",
          }),
      );
      if (history.some((r) => r.f05 !== undefined)) {
        await out(
          `${p.name}_f05.png`,
          (tmp) =>
            writePlot(tmp, [{ name: "valid F0.5", x, y: history.map((r) => r.f05 ?? NaN) }], {
              title: "validation F0.5, best threshold",
              xLabel: "epoch",
              yLabel: "F0.5",
            }),
        );
      }
    };
    const gpu = await ctx.gpu();
    if (p.precision === "mixed" && !gpu.device.features.has("shader-f16")) {
      throw new UserError(
        `node "${ctx.node}": parameter "precision" is "mixed", which needs the shader-f16 feature; the adapter ${gpu.adapter.description} lacks it`,
      );
    }
    let shown = -1;
    const result = await train(gpu, trainRegion, validRegion, init, options, {
      async checkpoint(kind, dict) {
        const meta = { format: "pt", family: p.family, kind };
        await out(
          `${p.name}_${kind}.safetensors`,
          (tmp) => writeSafetensors(tmp, dict, { metadata: meta }),
        );
        if (p.export_pth) await out(`${p.name}_${kind}.pth`, (tmp) => writePth(tmp, dict));
      },
      async saveState(state, tensors) {
        await atomic(statePath, (tmp) =>
          writeSafetensors(tmp, tensors, {
            metadata: { fingerprint: ctx.fingerprint, state: JSON.stringify(state) },
          }));
      },
      async epoch(record, history) {
        ctx.debug(1, `epoch ${record.epoch}: ${JSON.stringify(record)}`);
        await writeLog(history);
      },
      progress(done, total) {
        if (shown < 0) {
          ctx.progress.start(total, "steps");
          shown = 0;
        }
        ctx.progress.tick(done - shown);
        shown = done;
      },
    }, resume);
    const summary = {
      family: p.family,
      depth,
      train_rows: [t0, t1],
      valid_rows: validVol ? "valid input" : p.valid_rows ?? null,
      best_f05: result.bestF05 >= 0 ? result.bestF05 : null,
      swa: result.swa ?? null,
      seconds: result.history.reduce((a, r) => a + r.seconds, 0),
      epochs: result.history,
    };
    await out(
      `${p.name}_summary.json`,
      (tmp) => Deno.writeTextFile(tmp, JSON.stringify(summary, null, 2) + "\n"),
    );
    ctx.progress.done();
    return { checkpoints: { kind: "files", files } satisfies FilesPort };
  },
};
