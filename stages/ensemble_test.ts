import assert from "node:assert/strict";
import { ensemble, sigmoid } from "./ensemble.ts";
import { memoryImage, readImage } from "./images.ts";
import { testContext } from "./_testing.ts";
import type { ImagePort } from "./types.ts";

const map = (data: number[], rows = 1): ImagePort =>
  memoryImage({ height: rows, width: data.length / rows, data: Float32Array.from(data) }, {}, 2);

Deno.test("ensemble averages member probabilities, equal or weighted, band by band", async () => {
  const a = [0, 2, -3, 1, 0.5, -0.25, 7, -7, 3, 1.5];
  const b = [1, -1, 4, 0, -2, 0.75, -7, 7, 2, -1];
  const { probabilities } = await ensemble.run(
    await testContext(),
    { m1: map(a, 5), m2: map(b, 5) },
    {},
  );
  const got = (await readImage(probabilities as ImagePort)).data;
  a.forEach((x, i) => assert.ok(Math.abs(got[i] - (sigmoid(x) + sigmoid(b[i])) / 2) < 1e-7));
  const weighted = await ensemble.run(
    await testContext(),
    { m1: map(a, 5), m3: map(b, 5) },
    { weights: [3, 1] },
  );
  const w = (await readImage(weighted.probabilities as ImagePort)).data;
  a.forEach((x, i) => assert.ok(Math.abs(w[i] - (3 * sigmoid(x) + sigmoid(b[i])) / 4) < 1e-7));
});

Deno.test("ensemble names mismatched weights and sizes", async () => {
  const ctx = await testContext();
  await assert.rejects(
    async () => await ensemble.run(ctx, { m1: map([0]), m2: map([1]) }, { weights: [1] }),
    /parameter "weights" has 1 values but 2 members are connected/,
  );
  await assert.rejects(
    async () => await ensemble.run(ctx, { m1: map([0]), m2: map([1, 2]) }, {}),
    /input "m2" is 2x1 but "m1" is 1x1/,
  );
});
