/**
 * Golden end-to-end inference against a Python reference of the seed's whole
 * inference procedure (seed spec 5): a small Kaggle fragment, two members of
 * different families (cnn3d at tile 64 / stride 16, unet3d at tile 32 /
 * stride 8) with rotation TTA, uniform blending, the ensemble, the
 * post-processing and the RLE submission. The fixture and the pipeline come
 * from tests/fixtures/inference/gen_golden.py (see the README there).
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { loadPipeline } from "../engine/pipeline.ts";
import { runPlan } from "../engine/run.ts";
import { validate } from "../engine/validate.ts";
import { registry } from "../stages/mod.ts";
import { readNpy } from "../data/npy.ts";
import { readPng } from "../data/png.ts";
import { readZarrImage } from "../data/zarr.ts";

const FIX = fileURLToPath(new URL("./fixtures/inference/", import.meta.url));

/** Largest absolute difference and where it is (row, col). */
function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>, width: number) {
  let max = -1, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= max)) [max, at] = [d, i]; // NaN counts as the largest
  }
  return { max, row: Math.floor(at / width), col: at % width };
}

Deno.test("golden inference: two members -> ensemble -> postprocess -> RLE match the Python reference", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-golden-" });
  try {
    const plan = validate(loadPipeline(`${FIX}golden.yaml`), registry);
    const { manifest } = await runPlan(plan, { outDir: `${dir}/out`, progress: false });
    assert.equal(manifest.status, "complete");
    const out = `${dir}/out`;

    const expected = await readNpy(`${FIX}expected_probability.npy`, { dtype: "f32" });
    const [height, width] = expected.shape;
    const probs = await readZarrImage(`${out}/prediction_probability.zarr`);
    assert.equal(probs.height, height);
    assert.equal(probs.width, width);
    const diff = maxAbsDiff(probs.data, expected.data, width);
    assert.ok(
      diff.max <= 1e-4,
      `probability differs by ${diff.max} at row ${diff.row}, col ${diff.col}: TS ${
        probs.data[diff.row * width + diff.col]
      }, Python ${expected.data[diff.row * width + diff.col]}`,
    );

    const binary = await readPng(`${out}/prediction.png`);
    const want = await readPng(`${FIX}expected_binary.png`);
    assert.equal(binary.height, height);
    assert.equal(binary.width, width);
    let wrong = 0, first = -1;
    for (let i = 0; i < want.data.length; i++) {
      if (binary.data[i] !== want.data[i]) {
        wrong++;
        if (first < 0) first = i;
      }
    }
    assert.equal(
      wrong,
      0,
      `${wrong} binary pixels differ, the first at row ${Math.floor(first / width)}, col ${
        first % width
      }`,
    );

    const csv = await Deno.readTextFile(`${out}/prediction_submission.csv`);
    assert.equal(csv, await Deno.readTextFile(`${FIX}expected_submission.csv`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
