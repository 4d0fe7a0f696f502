import assert from "node:assert/strict";
import { imageRows, lazyImage } from "./image.ts";

Deno.test("imageRows: a view of an in-memory image's rows", () => {
  const img = { height: 3, width: 2, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };
  assert.deepEqual([...imageRows(img, 1, 3)], [3, 4, 5, 6]);
  assert.deepEqual(imageRows(img, 2, 2).length, 0);
  assert.throws(() => imageRows(img, 2, 4), RangeError);
});

Deno.test("lazyImage: bands are read on demand; data materialises once and then serves the bands", () => {
  const reads: [number, number][] = [];
  const img = lazyImage(6, 2, (y0, y1) => {
    reads.push([y0, y1]);
    return Uint8Array.from({ length: (y1 - y0) * 2 }, (_, i) => y0 * 2 + i);
  });
  assert.deepEqual([...imageRows(img, 2, 4)], [4, 5, 6, 7]);
  assert.deepEqual(reads, [[2, 4]]);
  assert.deepEqual(img.data.length, 12);
  assert.deepEqual(img.data.length, 12);
  assert.deepEqual(reads, [[2, 4], [0, 6]]);
  assert.deepEqual([...imageRows(img, 5, 6)], [10, 11]);
  assert.deepEqual(reads.length, 2);
});

Deno.test("cropRows keeps a lazy mask lazy and offsets its rows", async () => {
  const { cropRows } = await import("../stages/crop.ts");
  const { syntheticFragment } = await import("./synthetic.ts");
  const frag = syntheticFragment({ height: 64, width: 32, depth: 2, seed: 3 });
  const mask = lazyImage(64, 32, (y0, y1) => frag.readMaskRegion(y0, y1, 0, 32));
  const crop = cropRows({ kind: "volume", source: frag.volume, normalize: "u16", mask }, [16, 48]);
  assert.ok(crop.mask?.rows, "the crop reads by rows");
  assert.deepEqual(imageRows(crop.mask!, 4, 8), frag.readMaskRegion(20, 24, 0, 32));
});
