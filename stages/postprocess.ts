/**
 * Inference's last steps as the seed ran them: `postprocess` (threshold,
 * mask, small components), `write_outputs` (probability map, binary PNG,
 * preview, Kaggle RLE CSV) and `evaluate` (F0.5 against the labels, over the
 * seed's threshold scan, as JSON and a plot).
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import { writePng } from "../data/png.ts";
import { createZarrV3 } from "../data/zarr.ts";
import {
  bestThreshold,
  ConfusionCounter,
  fillSmallHoles,
  removeSmallComponents,
  rle,
  SEED_THRESHOLDS,
  seedFbeta,
  sklearnFbeta,
  submissionCsv,
  writePlot,
} from "../postprocess/mod.ts";
import type { Image2D, ImagePort, Stage } from "./types.ts";

const postParams = v.object({
  threshold: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0),
      v.maxValue(1),
      v.description("Ink where probability >= threshold (seed: 0.5)"),
    ),
    0.5,
  ),
  min_size: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description(
        "Remove 8-connected components of at most this many pixels (seed: 10000; 0 keeps all)",
      ),
    ),
    10000,
  ),
  hole_size: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description(
        "Fill holes smaller than this that do not touch the border, before the removal (0: off)",
      ),
    ),
    0,
  ),
  use_mask: v.optional(
    v.pipe(v.boolean(), v.description("Multiply by the fragment mask (the seed)")),
    true,
  ),
});

/** The `postprocess` stage. */
export const postprocess: Stage<v.InferOutput<typeof postParams>> = {
  name: "postprocess",
  version: "1",
  description:
    "Threshold, multiply by the mask, fill small holes (option), remove small components",
  params: postParams,
  inputs: {
    probabilities: {
      kind: "image",
      dtype: "f32",
      range: [0, 1],
      shape: "(H, W)",
      description: "Ink probability",
    },
  },
  outputs: {
    binary: {
      kind: "image",
      dtype: "u8",
      range: [0, 1],
      shape: "(H, W)",
      description: "Ink prediction, 0 or 1",
    },
  },
  run(_ctx, inputs, p) {
    const port = inputs.probabilities as ImagePort;
    const { height, width, data } = port.image;
    let binary: Uint8Array = new Uint8Array(height * width);
    for (let i = 0; i < binary.length; i++) binary[i] = data[i] >= p.threshold ? 1 : 0;
    if (p.use_mask) {
      if (!port.mask) throw new UserError(`parameter "use_mask" is true but the input has no mask`);
      const mask = port.mask.data;
      for (let i = 0; i < binary.length; i++) if (!(mask[i] > 0)) binary[i] = 0;
    }
    if (p.hole_size > 0) binary = fillSmallHoles({ height, width, data: binary }, p.hole_size);
    if (p.min_size > 0) binary = removeSmallComponents({ height, width, data: binary }, p.min_size);
    return Promise.resolve({
      binary: {
        kind: "image",
        image: { height, width, data: binary },
        mask: port.mask,
        labels: port.labels,
      },
    });
  },
};

const outParams = v.object({
  prefix: v.optional(
    v.pipe(v.string(), v.minLength(1), v.description("File name prefix in the run folder")),
    "prediction",
  ),
  id: v.optional(v.pipe(v.string(), v.description("Fragment id in the submission CSV")), "a"),
  probability_dtype: v.optional(
    v.pipe(
      v.picklist(["float32", "uint8"]),
      v.description("Probability map as float32 or quantised to 0..255"),
    ),
    "float32",
  ),
});

/** The `write_outputs` stage. */
export const writeOutputs: Stage<v.InferOutput<typeof outParams>> = {
  name: "write_outputs",
  version: "1",
  description:
    "Write the probability map (Zarr), the binary map and a preview (PNG), and the RLE CSV",
  params: outParams,
  inputs: {
    binary: {
      kind: "image",
      dtype: "u8",
      shape: "(H, W)",
      description: "Ink prediction from postprocess",
    },
    probabilities: {
      kind: "image",
      dtype: "f32",
      shape: "(H, W)",
      description: "Ink probability",
      optional: true,
    },
  },
  outputs: { files: { kind: "files", description: "The files written" } },
  async run(ctx, inputs, p) {
    const binary = (inputs.binary as ImagePort).image;
    const files: string[] = [];
    const out = async (name: string, write: (tmp: string) => Promise<void>) => {
      await ctx.writeOutput(name, write);
      files.push(name);
    };
    const probs = inputs.probabilities as ImagePort | undefined;
    if (probs) {
      const img = probs.image;
      const data = p.probability_dtype === "uint8"
        ? Uint8Array.from(img.data, (x) => Math.round(Math.min(1, Math.max(0, x)) * 255))
        : Float32Array.from(img.data);
      await out(`${p.prefix}_probability.zarr`, async (tmp) => {
        const w = await createZarrV3(tmp, {
          shape: [img.height, img.width],
          dtype: p.probability_dtype,
          chunks: [512, 512],
        });
        await w.writeRegion([0, 0], [img.height, img.width], data);
        await w.close();
      });
      await out(
        `${p.prefix}_preview.png`,
        (tmp) => writePng(tmp, preview(img, binary), { bitDepth: 8 }),
      );
    }
    await out(
      `${p.prefix}.png`,
      (tmp) =>
        writePng(tmp, { ...binary, data: Uint8Array.from(binary.data, (x) => (x ? 255 : 0)) }, {
          bitDepth: 8,
        }),
    );
    await out(
      `${p.prefix}_submission.csv`,
      (tmp) =>
        Deno.writeTextFile(
          tmp,
          submissionCsv([{
            id: p.id,
            predicted: rle({ ...binary, data: binary.data as Uint8Array }),
          }]),
        ),
    );
    return { files: { kind: "files", files } };
  },
};

/** A grey preview: the probability as brightness, predicted ink marked white at full brightness. */
function preview(probs: Image2D, binary: Image2D): Image2D {
  const data = new Uint8Array(probs.height * probs.width);
  for (let i = 0; i < data.length; i++) {
    data[i] = binary.data[i] ? 255 : Math.round(Math.min(1, Math.max(0, probs.data[i])) * 160);
  }
  return { height: probs.height, width: probs.width, data };
}

const evalParams = v.object({
  threshold: v.optional(
    v.pipe(v.number(), v.minValue(0), v.maxValue(1), v.description("The chosen threshold")),
    0.5,
  ),
  region: v.optional(
    v.pipe(
      v.picklist(["mask", "all"]),
      v.description(
        "Count pixels inside the mask, or over the whole fragment as the seed's validation did",
      ),
    ),
    "mask",
  ),
  prefix: v.optional(
    v.pipe(v.string(), v.minLength(1), v.description("File name prefix")),
    "evaluation",
  ),
});

/** The `evaluate` stage. */
export const evaluate: Stage<v.InferOutput<typeof evalParams>> = {
  name: "evaluate",
  version: "1",
  description:
    "F0.5 against the labels at the chosen threshold and over the seed's 0.10..1.00 scan",
  params: evalParams,
  inputs: {
    probabilities: {
      kind: "image",
      dtype: "f32",
      range: [0, 1],
      shape: "(H, W)",
      description: "Ink probability with labels",
    },
  },
  outputs: { files: { kind: "files", description: "JSON scores and a PNG plot" } },
  async run(ctx, inputs, p) {
    const port = inputs.probabilities as ImagePort;
    if (!port.labels) throw new UserError(`the input has no ink labels to evaluate against`);
    const mask = p.region === "mask" ? port.mask?.data as Uint8Array | undefined : undefined;
    if (p.region === "mask" && !mask) {
      throw new UserError(`parameter "region" is "mask" but the input has no mask`);
    }
    const thresholds = [...new Set([...SEED_THRESHOLDS, p.threshold])].sort((a, b) => a - b);
    const counter = new ConfusionCounter(thresholds);
    counter.push(Float32Array.from(port.image.data), port.labels.data as Uint8Array, mask);
    const counts = counter.counts();
    const scan = counts.map((c) => ({ ...c, f05: seedFbeta(c).f, f05_sklearn: sklearnFbeta(c).f }));
    const chosen = scan.find((s) => s.threshold === p.threshold)!;
    const best = bestThreshold(counts);
    const result = {
      region: p.region,
      threshold: p.threshold,
      f05: chosen.f05_sklearn,
      f05_seed: chosen.f05,
      best_threshold: best.threshold,
      best_f05_seed: best.f,
      scan,
    };
    await ctx.writeOutput(
      `${p.prefix}.json`,
      (tmp) => Deno.writeTextFile(tmp, JSON.stringify(result, null, 2) + "\n"),
    );
    await ctx.writeOutput(
      `${p.prefix}.png`,
      (tmp) =>
        writePlot(tmp, [{
          name: "F0.5",
          x: scan.map((s) => s.threshold),
          y: scan.map((s) => s.f05_sklearn),
        }], {
          title: "F0.5 vs threshold",
          xLabel: "threshold",
          yLabel: "F0.5",
        }),
    );
    ctx.debug(
      1,
      `F0.5 ${result.f05.toFixed(4)} at ${p.threshold}; best ${
        best.f.toFixed(4)
      } at ${best.threshold}`,
    );
    return { files: { kind: "files", files: [`${p.prefix}.json`, `${p.prefix}.png`] } };
  },
};
