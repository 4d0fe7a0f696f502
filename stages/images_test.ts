import assert from "node:assert/strict";
import { BandStore, imageBands, memoryImage, readImage } from "./images.ts";
import { testContext } from "./_testing.ts";

const SHAPE = { height: 10, width: 3, dtype: "f32" as const, bandRows: 4 };
const band = (b: number) =>
  Float32Array.from({ length: Math.min(4, 10 - 4 * b) * 3 }, (_, i) => b * 100 + i);

Deno.test("a band store keeps the bands of an interrupted run with the same fingerprint", async () => {
  const ctx = await testContext();
  const store = await BandStore.open(ctx, "map", SHAPE);
  assert.equal(store.bands, 3);
  await store.writeBand(band(0));
  await store.writeBand(band(1));
  assert.rejects(() => store.port(), /2 of 3 bands/);

  const again = await BandStore.open(ctx, "map", SHAPE);
  assert.deepEqual([again.done, again.doneRows], [2, 8]);
  await again.writeBand(band(2));
  const image = await readImage(await again.port());
  assert.deepEqual([...image.data], [...band(0), ...band(1), ...band(2)]);

  const partial = await BandStore.open(ctx, "other", SHAPE);
  await partial.writeBand(band(0));
  assert.equal((await BandStore.open(ctx, "other", SHAPE, { partial: false })).done, 0);
  assert.equal((await BandStore.open({ ...ctx, fingerprint: "changed" }, "map", SHAPE)).done, 0);
  assert.equal((await BandStore.open(ctx, "map", { ...SHAPE, bandRows: 5 })).done, 0);
});

Deno.test("imageBands walks any band height; readRows checks its range", async () => {
  const data = Float32Array.from({ length: 7 * 2 }, (_, i) => i);
  const port = memoryImage({ height: 7, width: 2, data }, {}, 3);
  for (const rows of [1, 3, 7, 10]) {
    const seen: number[] = [];
    for await (const b of imageBands(port, rows)) {
      assert.equal(b.y0 * 2, seen.length);
      seen.push(...b.data);
    }
    assert.deepEqual(seen, [...data]);
  }
  await assert.rejects(() => port.readRows(5, 8), /outside 0..7/);
});
