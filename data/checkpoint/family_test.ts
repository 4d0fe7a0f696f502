import assert from "node:assert/strict";
import { seedKeys, segformerKeys, shapes } from "./_test_util.ts";
import { detectFamily } from "./family.ts";

Deno.test("the seed key sets have the spec's key counts", () => {
  // Seed spec §6: "Key counts (unprefixed)".
  assert.equal(seedKeys("cnn3d").size, 656);
  assert.equal(seedKeys("cnn3d", "b5").size, 1184);
  assert.equal(seedKeys("unet3d").size, 692);
  assert.equal(seedKeys("unet3d_jumbo").size, 1220);
  assert.equal(seedKeys("unetr").size, 1346);
  assert.equal(seedKeys("unetr_mc").size, 1340);
});

Deno.test("the seed key sets have the spec's parameter counts", () => {
  // Seed spec §2: the float values of the state dict (num_batches_tracked aside).
  const params = (keys: Map<string, number[]>, prefix = "") =>
    [...keys].filter(([k]) => k.startsWith(prefix) && !k.endsWith("num_batches_tracked"))
      .reduce((sum, [, shape]) => sum + shape.reduce((a, b) => a * b, 1), 0);
  assert.equal(params(segformerKeys("", "b3", 32, 1)), 47_315_713);
  assert.equal(params(segformerKeys("", "b5", 32, 1)), 84_686_593);
  assert.equal(params(segformerKeys("", "b5", 32, 3)), 84_688_131);
  assert.equal(params(seedKeys("cnn3d"), "conv3d_"), 18_312);
  assert.equal(params(seedKeys("unet3d"), "model."), 255_814);
  assert.equal(params(seedKeys("unet3d_jumbo"), "model."), 255_958);
  assert.equal(params(seedKeys("unetr")), 178_091_523);
  assert.equal(params(seedKeys("unetr_mc")), 177_761_545);
});

Deno.test("detectFamily tells each seed family and its SegFormer apart", () => {
  const b3 = { hiddenSizes: [64, 128, 320, 512], depths: [3, 4, 18, 3], variant: "b3" };
  const b5 = { hiddenSizes: [64, 128, 320, 512], depths: [3, 6, 40, 3], variant: "b5" };
  const cases = [
    ["cnn3d", "xy_encoder_2d.", b3, 32, 1],
    ["cnn3d_more_filters", "xy_encoder_2d.", b3, 64, 1],
    ["unet3d", "encoder_2d.", b3, 16, 1],
    ["unet3d_jumbo", "encoder_2d.", b5, 32, 1],
    ["unetr", "encoder_2d.", b5, 32, 1],
    ["unetr_mc", "encoder_2d.", b5, 32, 3],
  ] as const;
  for (const [family, prefix, mit, numChannels, numLabels] of cases) {
    assert.deepEqual(detectFamily(shapes(seedKeys(family))), {
      family,
      segformer: { prefix, ...mit, numChannels, numLabels },
    }, family);
  }
  assert.equal(detectFamily(shapes(seedKeys("cnn3d", "b5")))?.segformer?.variant, "b5");
});

Deno.test("detectFamily ignores a module. prefix", () => {
  const keys = [...seedKeys("unet3d")].map(([key, shape]) => [`module.${key}`, shape] as const);
  const info = detectFamily(shapes(new Map(keys)));
  assert.equal(info?.family, "unet3d");
  assert.equal(info?.segformer?.variant, "b3");
});

Deno.test("detectFamily reads any MiT variant, and bare SegFormers", () => {
  for (const variant of ["b0", "b1", "b2", "b4"] as const) {
    const info = detectFamily(shapes(segformerKeys("", variant, 3, 2)));
    assert.equal(info?.family, "segformer");
    assert.equal(info?.segformer?.variant, variant);
    assert.equal(info?.segformer?.numChannels, 3);
    assert.equal(info?.segformer?.numLabels, 2);
  }
  assert.deepEqual(detectFamily(shapes(segformerKeys("", "b0", 3, 1)))?.segformer?.hiddenSizes, [
    32,
    64,
    160,
    256,
  ]);
  // An encoder without a decode head (the ImageNet MiT weights) has no label count.
  const encoder = new Map([...segformerKeys("", "b3", 3, 1)].filter(([k]) => !k.startsWith("dec")));
  assert.equal(detectFamily(shapes(encoder))?.segformer?.numLabels, undefined);
});

Deno.test("detectFamily reports what does not match", () => {
  assert.equal(detectFamily(new Map()), undefined);
  assert.equal(detectFamily(shapes(new Map([["foo.weight", [3]]]))), undefined);
  assert.equal(detectFamily(shapes(new Map([["conv3d_4.weight", [48, 16, 3, 3, 3]]]))), undefined);
  // A family without its SegFormer keys, and a SegFormer of no known variant.
  assert.deepEqual(detectFamily(shapes(new Map([["model.final_conv.weight", [32, 8, 1, 1, 1]]]))), {
    family: "unet3d_jumbo",
    segformer: undefined,
  });
  const odd = new Map([...seedKeys("cnn3d")].filter(([k]) => !k.includes(".block.2.17.")));
  const segformer = detectFamily(shapes(odd))?.segformer;
  assert.deepEqual(segformer?.depths, [3, 4, 17, 3]);
  assert.equal(segformer?.variant, undefined);
});
