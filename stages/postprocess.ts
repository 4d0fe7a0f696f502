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
import { imageRows } from "../data/image.ts";
import { PngWriter } from "../data/png.ts";
import { createZarrV3 } from "../data/zarr.ts";
import {
  bestThreshold,
  ConfusionCounter,
  postprocessBands,
  RleEncoder,
  SEED_THRESHOLDS,
  seedFbeta,
  sklearnFbeta,
  submissionCsv,
  writePlot,
} from "../postprocess/mod.ts";
import { BandStore, checkSameSize, imageBands } from "./images.ts";
import type { ImagePort, Stage, VolumePort } from "./types.ts";

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
  version: "2",
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
  async run(ctx, inputs, p) {
    const port = inputs.probabilities as ImagePort;
    const { height, width, bandRows } = port;
    if (p.use_mask && !port.mask) {
      throw new UserError(`parameter "use_mask" is true but the input has no mask`);
    }
    const mask = p.use_mask ? port.mask : undefined;
    const store = await BandStore.open(ctx, "binary", { height, width, dtype: "u8", bandRows }, {
      partial: false,
    });
    if (!store.complete) {
      const passes = p.hole_size > 0 ? 3 : 2;
      ctx.progress.start(passes * store.bands, "bands");
      const thresholded = async function* () {
        for await (const { y0, data } of imageBands(port)) {
          const out = new Uint8Array(data.length);
          for (let i = 0; i < out.length; i++) out[i] = data[i] >= p.threshold ? 1 : 0;
          if (mask) {
            const m = imageRows(mask, y0, y0 + out.length / width);
            for (let i = 0; i < out.length; i++) if (!(m[i] > 0)) out[i] = 0;
          }
          ctx.progress.tick();
          yield { y0, data: out };
        }
      };
      const bands = postprocessBands(thresholded, width, {
        maxSize: p.min_size,
        holeSize: p.hole_size,
      });
      for await (const band of bands) await store.writeBand(band.data);
    }
    return { binary: await store.port({ mask: port.mask, labels: port.labels }) };
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
  version: "2",
  description:
    "Write the probability map (Zarr), the binary map and a preview (PNG), and the RLE CSV, band by band",
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
      description: "Ink probability (for the Zarr map and the preview)",
      optional: true,
    },
    volume: {
      kind: "volume",
      description: "The input volume: the preview shows its middle layer under the prediction",
      optional: true,
    },
  },
  outputs: { files: { kind: "files", description: "The files written" } },
  async run(ctx, inputs, p) {
    const binary = inputs.binary as ImagePort;
    const probs = inputs.probabilities as ImagePort | undefined;
    const volume = inputs.volume as VolumePort | undefined;
    const { height, width } = binary;
    if (probs) checkSameSize(probs, "probabilities", binary, "binary");
    if (volume) {
      const [, vh, vw] = volume.source.shape;
      if (vh !== height || vw !== width) {
        throw new UserError(`input "volume" is ${vw}x${vh} but "binary" is ${width}x${height}`);
      }
    }
    const files: string[] = [];
    const out = async (name: string, write: (tmp: string) => Promise<void>) => {
      await ctx.writeOutput(name, write);
      files.push(name);
    };
    if (probs) {
      await out(`${p.prefix}_probability.zarr`, async (tmp) => {
        const w = await createZarrV3(tmp, {
          shape: [height, width],
          dtype: p.probability_dtype,
          chunks: [probs.bandRows, Math.min(512, width)],
        });
        for await (const { y0, data } of imageBands(probs)) {
          const values = p.probability_dtype === "uint8"
            ? Uint8Array.from(data, (x) => Math.round(Math.min(1, Math.max(0, x)) * 255))
            : Float32Array.from(data);
          await w.writeRegion([y0, 0], [data.length / width, width], values);
        }
        await w.close();
      });
    }
    if (probs || volume) {
      await out(`${p.prefix}_preview.png`, (tmp) => writePreview(tmp, binary, probs, volume));
    }
    await out(`${p.prefix}.png`, async (tmp) => {
      const png = await PngWriter.create(tmp, { height, width });
      for await (const { data } of imageBands(binary)) {
        await png.writeRows(Uint8Array.from(data, (x) => (x ? 255 : 0)));
      }
      await png.close();
    });
    await out(`${p.prefix}_submission.csv`, async (tmp) => {
      const encoder = new RleEncoder(width);
      for await (const { y0, data } of imageBands(binary)) {
        encoder.push({ y0, data: data as Uint8Array });
      }
      await Deno.writeTextFile(tmp, submissionCsv([{ id: p.id, predicted: encoder.finish() }]));
    });
    return { files: { kind: "files", files } };
  },
};

/** Host bytes of volume read at once for the preview. */
const PREVIEW_READ_BYTES = 16 << 20;

/**
 * The preview: with the volume, its middle layer in grey with predicted ink
 * in red (RGB); without it, the probability as brightness with predicted
 * ink white (grey).
 */
async function writePreview(
  path: string,
  binary: ImagePort,
  probs: ImagePort | undefined,
  volume: VolumePort | undefined,
): Promise<void> {
  const { height, width } = binary;
  const png = await PngWriter.create(path, { height, width, channels: volume ? 3 : 1 });
  try {
    for await (const { y0, data } of imageBands(binary)) {
      const rows = data.length / width;
      if (volume) {
        // The source reads every windowed layer: a few rows at a time keep that bounded.
        const [depth] = volume.source.shape;
        const bpe = volume.source.dtype === "uint16" ? 2 : 1;
        const step = Math.max(1, Math.floor(PREVIEW_READ_BYTES / (depth * width * bpe)));
        const rgb = new Uint8Array(3 * data.length);
        for (let r0 = 0; r0 < rows; r0 += step) {
          const n = Math.min(step, rows - r0);
          const slab = await volume.source.readRegion(y0 + r0, y0 + r0 + n, 0, width);
          const layer = Math.floor(depth / 2) * n * width;
          const shift = slab instanceof Uint16Array ? 8 : 0;
          for (let j = 0; j < n * width; j++) {
            const i = r0 * width + j, g = slab[layer + j] >> shift;
            if (data[i]) rgb.set([255, g >> 1, g >> 1], 3 * i);
            else rgb.set([g, g, g], 3 * i);
          }
        }
        await png.writeRows(rgb);
      } else {
        const pr = await probs!.readRows(y0, y0 + rows);
        const grey = new Uint8Array(data.length);
        for (let i = 0; i < data.length; i++) {
          grey[i] = data[i] ? 255 : Math.round(Math.min(1, Math.max(0, pr[i])) * 160);
        }
        await png.writeRows(grey);
      }
    }
  } finally {
    await png.close().catch(() => {});
  }
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
    const mask = p.region === "mask" ? port.mask : undefined;
    if (p.region === "mask" && !mask) {
      throw new UserError(`parameter "region" is "mask" but the input has no mask`);
    }
    const thresholds = [...new Set([...SEED_THRESHOLDS, p.threshold])].sort((a, b) => a - b);
    const counter = new ConfusionCounter(thresholds);
    const { labels } = port;
    const { width } = port;
    for await (const { y0, data } of imageBands(port)) {
      const y1 = y0 + data.length / width;
      counter.push(
        data instanceof Float32Array ? data : Float32Array.from(data),
        imageRows(labels, y0, y1) as Uint8Array,
        mask && imageRows(mask, y0, y1) as Uint8Array,
      );
    }
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
