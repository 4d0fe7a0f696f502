import assert from "node:assert/strict";
import { seedKeys, TESTDATA } from "./_test_util.ts";
import { checkKeys, selectPrefix, stripPrefix } from "./keys.ts";
import { readPth } from "./pth.ts";
import { StateDict, tensorFrom } from "./tensor.ts";

/** A state dict of zero tensors with these keys and shapes. */
function zeros(path: string, keys: [string, number[]][]): StateDict {
  return new StateDict(
    path,
    keys.map(([key, shape]) => [
      key,
      tensorFrom({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }),
    ]),
  );
}

Deno.test("stripPrefix removes an optional leading module.", async () => {
  const prefixed = await readPth(`${TESTDATA}small_module.pth`);
  const plain = await readPth(`${TESTDATA}small.pth`);
  const stripped = stripPrefix(prefixed);
  assert.equal(stripped.path, prefixed.path);
  assert.deepEqual([...stripped.keys()], [...plain.keys()]);
  assert.equal(stripped.get("conv.weight"), prefixed.get("module.conv.weight"));
  assert.deepEqual([...stripPrefix(plain).keys()], [...plain.keys()]);

  const mixed = zeros("m.pth", [["module.a", [1]], ["b", [1]], ["xmodule.c", [1]]]);
  assert.deepEqual([...stripPrefix(mixed).keys()], ["a", "b", "xmodule.c"]);
  assert.deepEqual([...stripPrefix(mixed, "xmodule.").keys()], ["module.a", "b", "c"]);
  assert.throws(() => stripPrefix(zeros("m.pth", [["a", [1]], ["module.a", [1]]])), {
    name: "UserError",
    message: `Checkpoint "m.pth" has both "a" and "module.a"`,
  });
});

Deno.test("selectPrefix keeps the keys under a prefix, without it", () => {
  const dict = zeros("m.pth", [
    ["encoder_2d.segformer.x", [1]],
    ["encoder_2d.decode_head.y", [2]],
    ["encoder_2dz", [1]],
    ["upscaler1.weight", [1]],
  ]);
  const expected = ["segformer.x", "decode_head.y"];
  assert.deepEqual([...selectPrefix(dict, "encoder_2d.").keys()], expected);
  assert.deepEqual([...selectPrefix(dict, "encoder_2d").keys()], expected);
  assert.equal(
    selectPrefix(dict, "encoder_2d").get("decode_head.y"),
    dict.get("encoder_2d.decode_head.y"),
  );
  assert.equal(selectPrefix(dict, "encoder_2d").path, "m.pth");
  assert.equal(selectPrefix(dict, "").size, 4);
  assert.equal(selectPrefix(dict, "nothing").size, 0);
});

Deno.test("checkKeys lists missing, unexpected and wrongly shaped keys in one line", async () => {
  const cnn3d = new Map([...seedKeys("cnn3d")].filter(([key]) => key.startsWith("conv3d_")));
  const path = `${TESTDATA}wrong_shapes.pth`;
  const dict = await readPth(path);
  assert.throws(() => checkKeys(dict, cnn3d, "cnn3d"), {
    name: "UserError",
    message:
      `Checkpoint "${path}" does not match cnn3d: 2 missing (conv3d_4.weight, conv3d_4.bias), ` +
      `1 unexpected (foo), 1 wrong shape (conv3d_1.weight: (4, 1, 3, 3, 3) expected, ` +
      `(8, 1, 3, 3, 3) found)`,
  });

  const many = zeros("m.pth", [["a", [2]], ["b", [3, 1]], ["c", []], ["x", [1]]]);
  const expected = new Map([["a", [1]], ["b", [3]], ["c", [1]], ["d", [1]], ["e", [1]]]);
  assert.throws(() => checkKeys(many, expected, "head"), {
    message: `Checkpoint "m.pth" does not match head: 2 missing (d, e), 1 unexpected (x), ` +
      `3 wrong shapes (a: (1) expected, (2) found, b: (3) expected, (3, 1) found, ` +
      `c: (1) expected, () found)`,
  });
  const four = zeros("m.pth", [["p", [1]], ["q", [1]], ["r", [1]], ["s", [1]]]);
  assert.throws(() => checkKeys(four, new Map(), "nothing"), {
    message: `Checkpoint "m.pth" does not match nothing: 4 unexpected (p, q, r, ...)`,
  });
  checkKeys(many, new Map([["a", [2]], ["b", [3, 1]], ["c", []], ["x", [1]]]), "head");
});
