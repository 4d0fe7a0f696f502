/**
 * The full-resolution Fragment 1 ink labels (8181 x 6330) in `../shared/data/`
 * through the streamed components, filters and RLE, against the summary
 * values of postprocess/testdata/fragment1_fullres.json (written by
 * postprocess/fixtures/gen_postprocess_fixtures.py with OpenCV). Prints the
 * time and memory of each step. Skipped when the data is absent.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import process from "node:process";
import { readPng } from "../data/png.ts";
import { type Band, type BinaryImage, labelComponents, postprocessBands } from "./components.ts";
import { RleEncoder } from "./rle.ts";
import { bands, readJson } from "./_test_util.ts";

const PATH = new URL("../../shared/data/fragment1-labels-fullres/inklabels.png", import.meta.url)
  .pathname;
const present = await Deno.stat(PATH).then(() => true, () => false);
if (!present) console.log(`fragment1_fullres_test.ts: skipped, no ${PATH}`);
const ROWS = 256;

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/** Runs a step and prints its time, the heap after it and the peak RSS so far. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const out = await run();
  const { heapUsed } = Deno.memoryUsage();
  const peak = process.resourceUsage().maxRSS * 1024;
  const ms = (performance.now() - t0).toFixed(0);
  console.log(`  ${name}: ${ms} ms, heap ${MiB(heapUsed)}, peak RSS ${MiB(peak)}`);
  return out;
}

async function encode(stream: Iterable<Band> | AsyncIterable<Band>, width: number) {
  const encoder = new RleEncoder(width);
  for await (const band of stream) encoder.push(band);
  const text = encoder.finish();
  return { length: text.length, sha256: createHash("sha256").update(text).digest("hex") };
}

Deno.test({
  name: "fragment 1 full-resolution labels: components, small-component removal, holes, RLE",
  ignore: !present,
  fn: async () => {
    const fixture = await readJson("fragment1_fullres.json");
    const { height, width, data } = await step("read PNG", () => readPng(PATH));
    assert.deepEqual([height, width], [fixture.height, fixture.width]);
    const image: BinaryImage = { height, width, data: data as Uint8Array };
    const open = () => bands(image, ROWS);

    const c = await step("label components", () => labelComponents(open(), width));
    assert.equal(c.count, fixture.components);
    assert.equal(c.sizes.reduce((a, b) => a + b, 0), fixture.ink);
    assert.deepEqual([...c.sizes].sort((a, b) => b - a).slice(0, 5), fixture.largest);
    assert.deepEqual([...c.sizes.slice(0, 5)], fixture.firstSizes);

    const code = await step("RLE", () => encode(open(), width));
    assert.deepEqual(code, { length: fixture.rleLength, sha256: fixture.rleSha256 });

    const kept = await step(
      "remove <= 10000 px and RLE",
      () => encode(postprocessBands(open, width, { maxSize: 10000 }), width),
    );
    const keep = fixture.keep10000;
    assert.deepEqual(kept, { length: keep.rleLength, sha256: keep.rleSha256 });
    assert.equal(c.sizes.filter((s) => s > 10000).length, keep.components);

    const filled = await step("fill holes < 1000 px", async () => {
      const hash = createHash("sha256");
      let pixels = 0;
      for await (const band of postprocessBands(open, width, { holeSize: 1000 })) {
        hash.update(band.data);
        pixels += band.data.reduce((a, b) => a + b, 0);
      }
      return { pixels, sha256: hash.digest("hex") };
    });
    assert.deepEqual(filled, fixture.fill1000);
  },
});
