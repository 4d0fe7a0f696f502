/**
 * The inference tail end to end on the synthetic fragment: a member with
 * rotation TTA, blending, the ensemble, post-processing, outputs and
 * evaluation, from a checkpoint PyTorch saved.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { loadPipeline } from "../engine/pipeline.ts";
import { runPlan } from "../engine/run.ts";
import { validate } from "../engine/validate.ts";
import { registry } from "../stages/mod.ts";
import { readPng } from "../data/png.ts";
import { decodeRle } from "../postprocess/mod.ts";

const FIX = fileURLToPath(new URL("./fixtures/networks/", import.meta.url));
const fixture = JSON.parse(await Deno.readTextFile(`${FIX}cnn3d_b0tiny.json`));
const { num_encoder_blocks: _, hidden_act: __, reshape_last_stage: ___, ...segformer } =
  fixture.segformer;

Deno.test("member + TTA -> blend -> ensemble -> postprocess -> outputs and evaluation", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-infer-" });
  const member = { family: "cnn3d", weights: `${FIX}cnn3d_b0tiny.pth`, segformer };
  const spec = {
    nodes: {
      input: { stage: "synthetic_fragment", with: { height: 96, width: 80, depth: 16, seed: 5 } },
      tiles: { stage: "tile_crop", from: "input", with: { tile: 64, stride: 32, batch: 2 } },
      rotated: { stage: "tta_expand", from: "tiles" },
      net: { stage: "network", from: "rotated", with: member },
      merged: { stage: "tta_merge", from: "net" },
      logits: { stage: "blend", from: "merged" },
      probs: { stage: "ensemble", from: { m1: "logits" } },
      binary: { stage: "postprocess", from: "probs", with: { threshold: 0.5, min_size: 10 } },
      outputs: { stage: "write_outputs", from: { binary: "binary", probabilities: "probs" } },
      scores: { stage: "evaluate", from: "probs" },
    },
  };
  await Deno.writeTextFile(`${dir}/p.yaml`, stringify(spec, { aliasDuplicateObjects: false }));
  const { manifest } = await runPlan(validate(loadPipeline(`${dir}/p.yaml`), registry), {
    outDir: `${dir}/out`,
    progress: false,
  });
  assert.equal(manifest.status, "complete");
  const out = `${dir}/out`;
  const png = await readPng(`${out}/prediction.png`);
  assert.equal(png.height, 96);
  assert.equal(png.width, 80);
  const csv = (await Deno.readTextFile(`${out}/prediction_submission.csv`)).trim().split("\n");
  assert.equal(csv[0], "Id,Predicted");
  const predicted = csv[1].slice(csv[1].indexOf(",") + 1).replace(/"/g, "");
  assert.deepEqual(decodeRle(predicted, 96, 80), Uint8Array.from(png.data, (v) => (v ? 1 : 0)));
  const scores = JSON.parse(await Deno.readTextFile(`${out}/evaluation.json`));
  assert.equal(scores.scan.length, 19);
  assert.ok(scores.f05 >= 0 && scores.f05 <= 1);
  for (const f of ["prediction_probability.zarr", "prediction_preview.png", "evaluation.png"]) {
    await Deno.stat(`${out}/${f}`);
  }
});
