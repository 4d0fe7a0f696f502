/**
 * `ensemble`: the seed's model averaging. Each member's blended logit map
 * goes through a sigmoid, then the probabilities are averaged with weights
 * (equal by default, as the seed's 9-member mean). Members may have used
 * different tile sizes and batch sizes: they meet here as whole maps, read
 * band by band; the result is written band by band to the node's work folder.
 *
 * Inputs are named `m1` .. `m12`; connect as many as there are members:
 * `from: { m1: member_a, m2: member_b }`.
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import { BandStore, checkSameSize } from "./images.ts";
import type { ImagePort, PortSpec, Stage } from "./types.ts";

/** The most members an ensemble node takes. */
export const MAX_MEMBERS = 12;

const params = v.object({
  weights: v.optional(
    v.pipe(
      v.array(v.pipe(v.number(), v.minValue(0))),
      v.description("One weight per connected member, in input order (default: equal, the seed's)"),
    ),
  ),
});

const member = (i: number): PortSpec => ({
  kind: "image",
  dtype: "f32",
  shape: "(H, W)",
  description: `Logit map of member ${i}`,
  optional: i > 1,
});

/** The sigmoid the seed applies per member. */
export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** The `ensemble` stage. */
export const ensemble: Stage<v.InferOutput<typeof params>> = {
  name: "ensemble",
  version: "2",
  description: "Sigmoid per member, then a weighted (default equal) mean of the probabilities",
  params,
  inputs: Object.fromEntries(
    Array.from({ length: MAX_MEMBERS }, (_, i) => [`m${i + 1}`, member(i + 1)]),
  ),
  outputs: {
    probabilities: {
      kind: "image",
      dtype: "f32",
      shape: "(H, W)",
      range: [0, 1],
      description: "Ensemble ink probability",
    },
  },
  async run(ctx, inputs, p) {
    const maps = Object.entries(inputs)
      .filter(([, value]) => value !== undefined)
      .map(([port, value]) => [port, value as ImagePort] as const);
    const weights = p.weights ?? maps.map(() => 1);
    if (weights.length !== maps.length) {
      throw new UserError(
        `parameter "weights" has ${weights.length} values but ${maps.length} members are connected`,
      );
    }
    const total = weights.reduce((a, b) => a + b, 0);
    if (!(total > 0)) throw new UserError(`parameter "weights" must have a positive sum`);
    const [firstPort, first] = maps[0];
    for (const [port, m] of maps) checkSameSize(m, port, first, firstPort);
    const { height, width, bandRows } = first;
    const store = await BandStore.open(ctx, "probabilities", {
      height,
      width,
      dtype: "f32",
      bandRows,
    });
    const scale = weights.map((w) => w / total);
    ctx.progress.start(store.bands, "bands");
    ctx.progress.tick(store.done);
    for (let y0 = store.doneRows; y0 < height; y0 += bandRows) {
      const y1 = Math.min(y0 + bandRows, height);
      const bands = await Promise.all(maps.map(([, m]) => m.readRows(y0, y1)));
      const out = new Float32Array((y1 - y0) * width);
      bands.forEach((data, i) => {
        const w = scale[i];
        for (let j = 0; j < out.length; j++) out[j] += w * sigmoid(data[j]);
      });
      await store.writeBand(out);
      ctx.progress.tick();
    }
    return { probabilities: await store.port({ mask: first.mask, labels: first.labels }) };
  },
};
