import assert from "node:assert/strict";
import { ensemble, sigmoid } from "./ensemble.ts";
import type { ImagePort, StageContext } from "./types.ts";

const ctx = {} as StageContext;
const map = (data: number[]): ImagePort => ({
  kind: "image",
  image: { height: 1, width: data.length, data: Float32Array.from(data) },
});

Deno.test("ensemble averages member probabilities, equal or weighted", async () => {
  const a = [0, 2, -3];
  const b = [1, -1, 4];
  const { probabilities } = await ensemble.run(ctx, { m1: map(a), m2: map(b) }, {});
  const got = (probabilities as ImagePort).image.data;
  a.forEach((x, i) => assert.ok(Math.abs(got[i] - (sigmoid(x) + sigmoid(b[i])) / 2) < 1e-7));
  const weighted = await ensemble.run(ctx, { m1: map(a), m3: map(b) }, { weights: [3, 1] });
  const w = (weighted.probabilities as ImagePort).image.data;
  a.forEach((x, i) => assert.ok(Math.abs(w[i] - (3 * sigmoid(x) + sigmoid(b[i])) / 4) < 1e-7));
});

Deno.test("ensemble names mismatched weights and sizes", async () => {
  await assert.rejects(
    async () => await ensemble.run(ctx, { m1: map([0]), m2: map([1]) }, { weights: [1] }),
    /parameter "weights" has 1 values but 2 members are connected/,
  );
  await assert.rejects(
    async () => await ensemble.run(ctx, { m1: map([0]), m2: map([1, 2]) }, {}),
    /input "m2" is 2x1 but "m1" is 1x1/,
  );
});
