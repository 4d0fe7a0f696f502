/**
 * A member network inside a pipeline: the three stages (encode_3d ->
 * flatten_depth -> segment_2d) and the `network` shorthand give the same
 * blended logits on the synthetic fragment, from a checkpoint PyTorch saved.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { loadPipeline } from "../engine/pipeline.ts";
import { runPlan } from "../engine/run.ts";
import { validate } from "../engine/validate.ts";
import { registry } from "../stages/mod.ts";
import { readZarrImage } from "../data/zarr.ts";

const FIX = fileURLToPath(new URL("./fixtures/networks/", import.meta.url));
const CASE = "cnn3d_b0tiny";
const fixture = JSON.parse(await Deno.readTextFile(`${FIX}${CASE}.json`));
const { num_encoder_blocks: _, hidden_act: __, reshape_last_stage: ___, ...segformer } =
  fixture.segformer;
const member = { family: "cnn3d", weights: `${FIX}${CASE}.pth`, segformer };

function pipeline(nodes: Record<string, unknown>) {
  return {
    nodes: {
      input: { stage: "synthetic_fragment", with: { height: 96, width: 80, depth: 16, seed: 3 } },
      tiles: { stage: "tile_crop", from: "input", with: { tile: 64, stride: 32, batch: 3 } },
      ...nodes,
      blended: { stage: "blend", from: "logits" },
      out: { stage: "write_map", from: "blended", with: { path: "logits.zarr" } },
    },
  };
}

async function run(spec: unknown): Promise<Float32Array> {
  const dir = await Deno.makeTempDir({ prefix: "ink-net-" });
  await Deno.writeTextFile(`${dir}/p.yaml`, stringify(spec, { aliasDuplicateObjects: false }));
  const plan = validate(loadPipeline(`${dir}/p.yaml`), registry);
  const { manifest } = await runPlan(plan, { outDir: `${dir}/out`, progress: false });
  assert.equal(manifest.status, "complete");
  const img = await readZarrImage(`${dir}/out/logits.zarr`);
  return img.data as Float32Array;
}

Deno.test("encode_3d -> flatten_depth -> segment_2d equals the network shorthand", async () => {
  const staged = await run(pipeline({
    features: { stage: "encode_3d", from: "tiles", with: member },
    flat: { stage: "flatten_depth", from: "features", with: { reduce: "max" } },
    logits: { stage: "segment_2d", from: "flat", with: member },
  }));
  const whole = await run(pipeline({ logits: { stage: "network", from: "tiles", with: member } }));
  assert.equal(staged.length, 96 * 80);
  assert.deepEqual(staged, whole);
  assert.ok(staged.some((v) => v !== 0) && staged.every(Number.isFinite));
});

Deno.test("a checkpoint of another family fails before any tile is computed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-net-" });
  const spec = pipeline({
    logits: {
      stage: "network",
      from: "tiles",
      with: { ...member, family: "unet3d", segformer: { ...segformer, num_channels: 16 } },
    },
  });
  await Deno.writeTextFile(`${dir}/p.yaml`, stringify(spec, { aliasDuplicateObjects: false }));
  const plan = validate(loadPipeline(`${dir}/p.yaml`), registry);
  await assert.rejects(
    runPlan(plan, { outDir: `${dir}/out`, progress: false }),
    /node "logits": Checkpoint ".*cnn3d_b0tiny\.pth" does not match unet3d: \d+ missing \(model\.encoders/,
  );
});

Deno.test("rotation TTA around a network in YAML: tta_expand -> network -> tta_merge", async () => {
  const plain = await run(pipeline({ logits: { stage: "network", from: "tiles", with: member } }));
  const tta = (mode: string) =>
    run(pipeline({
      rotated: { stage: "tta_expand", from: "tiles", with: { mode } },
      net: { stage: "network", from: "rotated", with: member },
      logits: { stage: "tta_merge", from: "net" },
    }));
  assert.deepEqual(await tta("none"), plain);
  const rot = await tta("rot90");
  assert.equal(rot.length, plain.length);
  assert.ok(rot.every(Number.isFinite));
  // A random-weight network is not rotation invariant: TTA changes the logits, within reason.
  const diff = rot.reduce((m, v, i) => Math.max(m, Math.abs(v - plain[i])), 0);
  assert.ok(diff > 0, "rot90 TTA changed nothing");
});
