/**
 * End-to-end runs of real pipelines through the engine: the quick start on
 * the embedded synthetic fragment, and a tiling pipeline over the real
 * Fragment 1 data in ../shared/data (skipped with a message when absent).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readPng } from "../data/png.ts";
import { openVolume } from "../data/volume.ts";
import { applySets, loadPipeline, parseSet } from "../engine/pipeline.ts";
import { runPlan } from "../engine/run.ts";
import { validate } from "../engine/validate.ts";
import { registry } from "../stages/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FRAGMENT = `${ROOT}../shared/data/fragment1-16um`;
const haveFragment = await Deno.stat(FRAGMENT).then(() => true, () => false);
if (!haveFragment) console.log(`skipping Fragment 1 pipeline tests: ${FRAGMENT} is absent`);

async function run(file: string, sets: string[] = []) {
  const out = await Deno.makeTempDir({ prefix: "ink-run-" });
  const spec = loadPipeline(file);
  applySets(spec, sets.map(parseSet));
  const { manifest } = await runPlan(validate(spec, registry), { outDir: out, progress: false });
  return { out, manifest };
}

Deno.test("the quick start runs on the synthetic fragment and writes every output", async () => {
  const { out, manifest } = await run(`${ROOT}pipelines/quickstart.yaml`, [
    "input.height=200",
    "input.width=168",
    "tiles.tile=64",
    "tiles.stride=16",
  ]);
  assert.equal(manifest.status, "complete");
  assert.deepEqual([...manifest.outputs].sort(), [
    "fragment.zarr",
    "inklabels.png",
    "mask.png",
    "max_projection.png",
  ]);
  const max = await readPng(`${out}/max_projection.png`);
  const mask = await readPng(`${out}/mask.png`);
  assert.equal(max.height, 200);
  assert.equal(max.width, 168);
  // The maximum over depth is bright inside the papyrus and 0 outside it.
  let inside = 0;
  let outside = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]) inside += max.data[i];
    else outside += max.data[i];
  }
  assert.ok(inside > 0, "projection is not empty");
  assert.equal(outside, 0, "projection is 0 outside the mask");
  // The Zarr copy reads back with the same shape.
  const copy = await openVolume(`${out}/fragment.zarr`);
  assert.deepEqual([...copy.shape], [16, 200, 168]);
  assert.ok(manifest.peakMemory.bytes > 0);
  assert.ok(manifest.nodes.every((n) => n.wallMs !== undefined));
});

Deno.test({
  name: "Fragment 1: TIFF layers tile, flatten and blend back to the fragment's maximum projection",
  ignore: !haveFragment,
  async fn() {
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    await Deno.writeTextFile(
      file,
      `extends: ${ROOT}pipelines/quickstart.yaml
nodes:
  input: { remove: true }
  copy: { remove: true }
  mask_png: { remove: true }
  labels_png: { remove: true }
  volume:
    stage: read_volume
    with: { path: ${FRAGMENT}, start: 0, count: 4, normalize: seed }
  tiles:
    from: volume
    with: { tile: 256, stride: 64, batch: 4 }
  max_png:
    with: { scale: unit }
`,
    );
    const { out, manifest } = await run(file);
    assert.equal(manifest.status, "complete");
    const png = await readPng(`${out}/max_projection.png`);
    assert.equal(png.height, 1636);
    assert.equal(png.width, 1266);
    // Every tile sees every layer of its pixels, so the blend of per-tile maxima equals the
    // maximum over the 4 layers, quantised as the seed does: (v >> 8) / 255 -> 8-bit.
    const vol = await openVolume(FRAGMENT);
    const rows = await vol.readRegion(700, 720, 0, 1266);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 1266; x++) {
        let m = 0;
        for (let z = 0; z < 4; z++) m = Math.max(m, rows[(z * 20 + y) * 1266 + x] >> 8);
        assert.equal(png.data[(700 + y) * 1266 + x], m, `pixel ${700 + y},${x}`);
      }
    }
  },
});

Deno.test({
  name: "Fragment 1: a member network, blending, ensemble, post-processing, outputs and F0.5",
  ignore: !haveFragment,
  async fn() {
    const FIX = `${ROOT}tests/fixtures/networks/`;
    const fixture = JSON.parse(await Deno.readTextFile(`${FIX}cnn3d_b0tiny.json`));
    const { num_encoder_blocks: _, hidden_act: __, reshape_last_stage: ___, ...segformer } =
      fixture.segformer;
    const file = await Deno.makeTempFile({ suffix: ".yaml" });
    // single.yaml with the fixture's random-weight member, 64-pixel tiles without overlap.
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        extends: `${ROOT}pipelines/single.yaml`,
        nodes: {
          input: { with: { path: FRAGMENT, start: 0, count: 4 } },
          tiles: { with: { tile: 64, stride: 64, batch: 8 } },
          rotated: { with: { mode: "none" } },
          net: {
            with: { weights_dir: FIX, weights: "cnn3d_b0tiny.pth", segformer },
          },
          member: { with: { band_rows: 200 } },
          binary: { with: { threshold: 0.5, min_size: 50 } },
          scores: { stage: "evaluate", from: "probabilities" },
        },
      }),
    );
    const { out, manifest } = await run(file);
    assert.equal(manifest.status, "complete");
    const [H, W] = [1636, 1266];
    const binary = await readPng(`${out}/prediction.png`);
    assert.deepEqual([binary.height, binary.width], [H, W]);
    assert.ok(binary.data.every((v) => v === 0 || v === 255));
    const mask = await readPng(`${FRAGMENT}/mask.png`);
    assert.ok(binary.data.every((v, i) => v === 0 || mask.data[i] > 0), "ink only inside the mask");
    const { openZarrImage } = await import("../data/zarr.ts");
    const probs = await openZarrImage(`${out}/prediction_probability.zarr`);
    assert.deepEqual([probs.height, probs.width, probs.dtype], [H, W, "float32"]);
    const p = await probs.readRows(0, H);
    assert.ok(p.every((x) => x >= 0 && x <= 1), "probabilities in [0, 1]");
    // Pixels outside every kept tile (all-zero data) blend to logit 0: probability exactly 0.5.
    assert.equal(p[0], 0.5);
    const preview = await readPng(`${out}/prediction_preview.png`);
    assert.deepEqual([preview.height, preview.width], [H, W]);
    const csv = (await Deno.readTextFile(`${out}/prediction_submission.csv`)).split("\n");
    assert.equal(csv[0], "Id,Predicted");
    assert.match(csv[1], /^a,/);
    const scores = JSON.parse(await Deno.readTextFile(`${out}/evaluation.json`));
    assert.equal(scores.scan.length, 19);
    assert.ok(scores.f05 >= 0 && scores.f05 <= 1);
    await Deno.stat(`${out}/evaluation.png`);
  },
});
