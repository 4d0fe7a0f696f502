import assert from "node:assert/strict";
import { readNpy } from "../data/npy.ts";
import { readPng } from "../data/png.ts";
import {
  bestThreshold,
  type Confusion,
  ConfusionCounter,
  SEED_THRESHOLDS,
  seedFbeta,
  sklearnFbeta,
} from "./metrics.ts";
import { TESTDATA } from "./_test_util.ts";

const fixture = JSON.parse(await Deno.readTextFile(TESTDATA + "metrics.json"));
const probs = (await readNpy(TESTDATA + "probs.npy", { dtype: "f32" })).data;
const labels = (await readPng(TESTDATA + "labels.png")).data as Uint8Array;
const mask = (await readPng(TESTDATA + "mask.png")).data as Uint8Array;
const WIDTH = 128;

interface Row extends Confusion {
  seedF: number;
  seedPrecision: number;
  seedRecall: number;
  sklearnF: number;
}

function close(actual: number, expected: number, at: string) {
  assert.ok(Math.abs(actual - expected) <= 1e-9, `${at}: ${actual} != ${expected}`);
}

function check(
  counts: Confusion[],
  expected: { rows: Row[]; bestF: number; bestThreshold: number },
  at: string,
) {
  assert.equal(counts.length, expected.rows.length, at);
  counts.forEach((c, i) => {
    const row = expected.rows[i];
    const where = `${at}, threshold ${row.threshold}`;
    assert.deepEqual(c, {
      threshold: row.threshold,
      tp: row.tp,
      fp: row.fp,
      fn: row.fn,
      tn: row.tn,
    }, where);
    const seed = seedFbeta(c);
    close(seed.f, row.seedF, where);
    close(seed.precision, row.seedPrecision, where);
    close(seed.recall, row.seedRecall, where);
    close(sklearnFbeta(c).f, row.sklearnF, where);
  });
  const best = bestThreshold(counts);
  assert.equal(best.threshold, expected.bestThreshold, at);
  close(best.f, expected.bestF, at);
}

Deno.test("seed thresholds are NumPy's", () => {
  assert.deepEqual(SEED_THRESHOLDS, fixture.thresholds);
  assert.equal(SEED_THRESHOLDS.at(-1), 1);
});

Deno.test("counts and scores match NumPy and sklearn for every band height", () => {
  for (const rows of [1, 7, 64, 96]) {
    const all = new ConfusionCounter();
    const masked = new ConfusionCounter();
    for (let y0 = 0; y0 < 96; y0 += rows) {
      const [a, b] = [y0 * WIDTH, Math.min(y0 + rows, 96) * WIDTH];
      all.push(probs.subarray(a, b), labels.subarray(a, b));
      masked.push(probs.subarray(a, b), labels.subarray(a, b), mask.subarray(a, b));
    }
    check(all.counts(), fixture.all, `all pixels, bands of ${rows}`);
    check(masked.counts(), fixture.masked, `masked, bands of ${rows}`);
  }
});

Deno.test("degenerate cases score as sklearn and the seed do", () => {
  for (const [name, expected] of Object.entries(fixture.small)) {
    const { labels, probs } = expected as { labels: number[]; probs: number[] };
    const counter = new ConfusionCounter();
    counter.push(Float32Array.from(probs), Uint8Array.from(labels));
    check(counter.counts(), expected as never, name);
  }
});

Deno.test("float64 probabilities, custom thresholds and bad input", () => {
  const counter = new ConfusionCounter([0.25, 0.5]);
  counter.push(new Float64Array([0.25, 0.5 - 1e-12, 0.5, NaN]), new Uint8Array([1, 0, 1, 1]));
  assert.deepEqual(counter.counts(), [
    { threshold: 0.25, tp: 2, fp: 1, fn: 1, tn: 0 },
    { threshold: 0.5, tp: 1, fp: 0, fn: 2, tn: 1 },
  ]);
  assert.throws(() => new ConfusionCounter([0.5, 0.5]), /must be finite and ascend/);
  assert.throws(() => new ConfusionCounter([NaN]), /must be finite and ascend/);
  assert.throws(
    () => counter.push(new Float32Array(2), new Uint8Array(3)),
    /2 probabilities, 3 labels/,
  );
});

Deno.test("counts match a direct count for uneven thresholds and awkward values", () => {
  const cases = [[0.5], [-3, 0, 1e-9, 0.3, 0.30000000000000004, 2, 100], [0.25, 0.5, 0.75, 1]];
  const special = [NaN, Infinity, -Infinity, 0, 1, 0.3, 0.5, 100, -3, 1e-9, 2];
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const thresholds of cases) {
    const probs = Float64Array.from(
      { length: 5000 },
      (_, i) => i < special.length ? special[i] : (random() - 0.3) * (i % 2 ? 3 : 120),
    );
    const labels = Uint8Array.from(probs, () => random() < 0.4 ? 1 : 0);
    const counter = new ConfusionCounter(thresholds);
    counter.push(probs, labels);
    counter.counts().forEach((c, j) => {
      let [tp, fp] = [0, 0];
      probs.forEach((p, i) => {
        if (p >= thresholds[j]) labels[i] ? tp++ : fp++;
      });
      assert.deepEqual([c.tp, c.fp], [tp, fp], `thresholds ${thresholds}, ${thresholds[j]}`);
    });
  }
});
