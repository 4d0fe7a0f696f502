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
