import assert from "node:assert/strict";
import { stringify } from "yaml";
import { registry } from "../stages/mod.ts";
import { fingerprints, stableJson } from "./fingerprint.ts";
import { loadPipeline } from "./pipeline.ts";
import { validate } from "./validate.ts";

async function prints(tile: number, seed: number): Promise<Map<string, string>> {
  const dir = await Deno.makeTempDir();
  const spec = {
    nodes: {
      input: { stage: "synthetic_fragment", with: { height: 64, width: 64, seed } },
      tiles: { stage: "tile_crop", from: "input", with: { tile, stride: 8 } },
      flat: { stage: "flatten_depth", from: "tiles" },
      map: { stage: "blend", from: "flat" },
      mask: { stage: "write_png", from: "input.mask", with: { path: "mask.png" } },
    },
  };
  await Deno.writeTextFile(`${dir}/p.yaml`, stringify(spec));
  return fingerprints(validate(loadPipeline(`${dir}/p.yaml`), registry));
}

Deno.test("a parameter changes the fingerprints of its node and those below, only", async () => {
  const a = await prints(16, 1);
  assert.deepEqual(await prints(16, 1), a, "same pipeline, same prints");
  const b = await prints(32, 1);
  for (const id of ["input", "mask"]) assert.equal(b.get(id), a.get(id), id);
  for (const id of ["tiles", "flat", "map"]) assert.notEqual(b.get(id), a.get(id), id);
  const c = await prints(16, 2);
  for (const id of a.keys()) assert.notEqual(c.get(id), a.get(id), id);
});

Deno.test("stableJson ignores key order", () => {
  assert.equal(
    stableJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 0 } }),
    stableJson({ a: { c: 0, d: [1, { x: 1, y: 2 }] }, b: 1 }),
  );
});
