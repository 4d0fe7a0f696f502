import assert from "node:assert/strict";
import { decodeRle, rle, RleEncoder, submissionCsv } from "./rle.ts";
import { bands, readBinary, readJson, sha256 } from "./_test_util.ts";

const fixtures = await readJson("components.json");

Deno.test("RLE matches the seed's for every fixture and band height", async () => {
  for (const [name, expected] of Object.entries(fixtures)) {
    const { rle: text, rleLength, rleSha256 } = expected as Record<string, string | number>;
    const image = await readBinary(`binary/${name}.png`);
    const whole = rle(image);
    assert.equal(whole.length, rleLength, name);
    assert.equal(await sha256(whole), rleSha256, name);
    if (text !== null) assert.equal(whole, text, name);
    for (const rows of [1, 7, 64]) {
      const encoder = new RleEncoder(image.width);
      for (const band of bands(image, rows)) encoder.push(band);
      assert.equal(encoder.finish(), whole, `${name}, bands of ${rows}`);
    }
    assert.deepEqual(decodeRle(whole, image.height, image.width), image.data, name);
  }
});

Deno.test("RLE runs continue across rows and non-zero counts as 1", () => {
  const data = new Uint8Array([0, 0, 255, 1, 7, 0, 1, 1, 1]);
  assert.equal(rle({ height: 3, width: 3, data }), "3 3 7 3");
  assert.equal(rle({ height: 0, width: 5, data: new Uint8Array() }), "");
  assert.throws(() => rle({ height: 2, width: 2, data }), /9 values for a 2x2 image/);
  const encoder = new RleEncoder(3);
  assert.throws(() => encoder.push({ y0: 1, data }), /from row 0, got 9 values from row 1/);
});

Deno.test("decodeRle rejects malformed text", () => {
  assert.deepEqual([...decodeRle(" 2 1\n", 1, 3)], [0, 1, 0]);
  assert.throws(() => decodeRle("1 2 3", 1, 5), /odd number/);
  assert.throws(() => decodeRle("1 x", 1, 5), /run 1 is not two whole numbers/);
  assert.throws(() => decodeRle("1 -2", 1, 5), /run 1 is not two whole numbers/);
  assert.throws(() => decodeRle("1 2 2 1", 1, 5), /run 2 \(2 1\) is empty, overlaps/);
  assert.throws(() => decodeRle("4 3", 1, 5), /leaves the 1x5 image/);
  assert.throws(() => decodeRle("0 1", 1, 5), /run 1/);
  assert.throws(() => decodeRle("2 0", 1, 5), /run 1/);
});

Deno.test("submission CSV", () => {
  assert.equal(submissionCsv([]), "Id,Predicted\n");
  assert.equal(
    submissionCsv([{ id: "a", predicted: "1 5 9 2" }, { id: 'b,"c"', predicted: "" }]),
    'Id,Predicted\na,1 5 9 2\n"b,""c""",\n',
  );
});
