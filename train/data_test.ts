import assert from "node:assert/strict";
import { fillBatch, type Region, seedPadded, tileGrid } from "./data.ts";

/** A 1-layer 16-bit region of `h` x `w` with the given voxels, labels and mask. */
function region(h: number, w: number, tile: number, set: (y: number, x: number) => number[]) {
  const voxels = new Uint16Array(h * w), labels = new Uint8Array(h * w);
  const mask = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      [voxels[y * w + x], labels[y * w + x], mask[y * w + x]] = set(y, x);
    }
  }
  const r: Region = {
    y0: 0,
    y1: h,
    depth: 1,
    height: h,
    width: w,
    paddedHeight: seedPadded(h, tile),
    paddedWidth: seedPadded(w, tile),
    voxels,
    bits: 16,
    normalize: "seed",
    labels,
    mask,
  };
  return r;
}

Deno.test("tileGrid follows the seed: padding quirk, keep rule after v >> 8, ink flags, mask coverage", () => {
  // 16 x 16 with tile 8: padded to 24 (a whole extra tile); data only in the left half,
  // where x < 4 holds 255 (zero after >> 8) and 4 <= x < 8 holds 256.
  const r = region(
    16,
    16,
    8,
    (y, x) => [x < 4 ? 255 : x < 8 ? 256 : 0, y < 8 && x < 8 ? 1 : 0, x < 8 ? 1 : 0],
  );
  assert.equal(r.paddedHeight, 24);
  const all = tileGrid(r, 8, 4);
  // Origins 0, 4, ..., 16 on each axis; kept where the tile reaches x in [4, 8).
  assert.deepEqual([...new Set(all.map((t) => t.x))].sort((a, b) => a - b), [0, 4]);
  assert.deepEqual([...new Set(all.map((t) => t.y))].sort((a, b) => a - b), [0, 4, 8, 12]);
  assert.ok(all.find((t) => t.y === 0 && t.x === 0)!.ink);
  assert.ok(!all.find((t) => t.y === 12 && t.x === 0)!.ink);
  // Half-papyrus tiles (x = 4: columns 4..11, mask on 4..7) pass 0.5 but not 0.6.
  assert.ok(tileGrid(r, 8, 4, 0.5).some((t) => t.x === 4 && t.y === 0));
  assert.ok(!tileGrid(r, 8, 4, 0.6).some((t) => t.x === 4));
  // Rows past the region (y = 16: rows 16..23, all padding) hold no data.
  assert.ok(!all.some((t) => t.y === 16));
});

Deno.test("fillBatch normalises the seed's way and zero-pads past the region", () => {
  const r = region(4, 4, 4, (y, x) => [256 * (y * 4 + x), x === y ? 1 : 0, 1]);
  const { x, y } = fillBatch(r, [{ y: 2, x: 2, ink: true }], 4);
  assert.equal(x[0], Math.fround((256 * 10 >> 8) / 255)); // voxel (2, 2)
  assert.equal(x[1], Math.fround((256 * 11 >> 8) / 255));
  assert.equal(x[2], 0); // column 4: padding
  assert.equal(x[4 * 2], 0); // row 4: padding
  assert.deepEqual(Array.from(y.subarray(0, 2)), [1, 0]);
  const classes = fillBatch(r, [{ y: 0, x: 0, ink: true }], 4, "classes").y;
  assert.deepEqual(Array.from(classes.subarray(0, 2)), [2, 1]);
});

Deno.test("fillBatch's masked labels: 0 outside the mask, 1 papyrus, 2 ink (ink outside the mask too)", () => {
  const r = region(4, 4, 1, (y, x) => [1, x === y ? 1 : 0, x < 2 ? 1 : 0]);
  const { y } = fillBatch(r, [{ y: 0, x: 0, ink: true }], 4, "masked");
  assert.deepEqual(Array.from(y.subarray(0, 4)), [2, 1, 0, 0]);
  assert.deepEqual(Array.from(y.subarray(8, 12)), [1, 1, 0, 0]); // (2, 2) is ink outside the mask
});
