/**
 * `ensemble`: the seed's model averaging. Each member's blended logit map
 * goes through a sigmoid, then the probabilities are averaged with weights
 * (equal by default, as the seed's 9-member mean). Members may have used
 * different tile sizes and batch sizes: they meet here as whole maps.
 *
 * Inputs are named `m1` .. `m12`; connect as many as there are members:
 * `from: { m1: member_a, m2: member_b }`.
 *
 * @module
 */

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
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
  version: "1",
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
  run(_ctx, inputs, p) {
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
    const { height, width } = maps[0][1].image;
    const out = new Float32Array(height * width);
    maps.forEach(([port, m], i) => {
      if (m.image.height !== height || m.image.width !== width) {
        throw new UserError(
          `input "${port}" is ${m.image.width}x${m.image.height} but "${
            maps[0][0]
          }" is ${width}x${height}`,
        );
      }
      const w = weights[i] / total;
      const data = m.image.data;
      for (let j = 0; j < out.length; j++) out[j] += w * sigmoid(data[j]);
    });
    const first = maps[0][1];
    return Promise.resolve({
      probabilities: {
        kind: "image",
        image: { height, width, data: out },
        mask: first.mask,
        labels: first.labels,
      } satisfies ImagePort,
    });
  },
};
