import assert from "node:assert/strict";
import { BlockGrid, gcd, paddedSize, tileOrigins } from "./tiling.ts";

Deno.test("padding follows the seed, including its extra tile", () => {
  assert.equal(paddedSize(8181, 1024), 8192);
  assert.equal(paddedSize(6330, 1024), 7168);
  assert.equal(paddedSize(2048, 1024), 3072);
  assert.equal(paddedSize(2048, 1024, "minimal"), 2048);
  assert.equal(paddedSize(2049, 1024, "minimal"), 3072);
});

Deno.test("grids match the seed's tile counts for Kaggle fragment 1", () => {
  const n = (h: number, w: number, t: number) =>
    tileOrigins(paddedSize(h, t), t, t / 4).length * tileOrigins(paddedSize(w, t), t, t / 4).length;
  assert.equal(n(8181, 6330, 1024), 725);
  assert.equal(n(8181, 6330, 512), 2989);
  assert.equal(n(14830, 9506, 1024), 2109);
  assert.equal(n(7606, 5249, 512), 2337);
  assert.equal(gcd(1024, 256), 256);
  assert.equal(gcd(100, 30), 10);
});

Deno.test("block queries agree with a brute-force scan", () => {
  const [d, h, w, tile, stride] = [2, 23, 29, 8, 6];
  const vol = new Uint16Array(d * h * w);
  const mask = new Uint8Array(h * w);
  for (let i = 0; i < 12; i++) vol[Math.floor(Math.random() * vol.length)] = 1 + i;
  for (let i = 0; i < h * w; i++) mask[i] = Math.random() < 0.3 ? 255 : 0;
  const ph = paddedSize(h, tile);
  const pw = paddedSize(w, tile);
  const g = new BlockGrid(ph, pw, gcd(tile, stride));
  // Feed rows in uneven slabs, as a stream would.
  for (const [y0, rows] of [[0, 5], [5, 11], [16, 7]]) {
    const slab = new Uint16Array(d * rows * w);
    for (let z = 0; z < d; z++) {
      slab.set(vol.subarray((z * h + y0) * w, (z * h + y0 + rows) * w), z * rows * w);
    }
    g.addVoxels(slab, y0, rows, w);
    g.addMask(mask.subarray(y0 * w, (y0 + rows) * w), y0, rows, w);
  }
  for (const y0 of tileOrigins(ph, tile, stride)) {
    for (const x0 of tileOrigins(pw, tile, stride)) {
      let any = false;
      let m = 0;
      for (let y = y0; y < Math.min(y0 + tile, h); y++) {
        for (let x = x0; x < Math.min(x0 + tile, w); x++) {
          if (mask[y * w + x]) m++;
          for (let z = 0; z < d; z++) if (vol[(z * h + y) * w + x]) any = true;
        }
      }
      assert.equal(g.anyNonzero(y0, x0, tile), any, `nonzero at ${y0},${x0}`);
      assert.equal(g.maskCoverage(y0, x0, tile), m / (tile * tile), `coverage at ${y0},${x0}`);
    }
  }
});

Deno.test("a 16-bit voxel below 256 is zero for the seed's keep rule (v >> 8 == 0)", () => {
  const g = new BlockGrid(16, 16, 8);
  const slab = new Uint16Array(8 * 16);
  slab[3] = 255; // block (0, 0)
  slab[12] = 256; // block (0, 1)
  g.addVoxels(slab, 0, 8, 16, 256);
  assert.equal(g.anyNonzero(0, 0, 8), false);
  assert.equal(g.anyNonzero(0, 8, 8), true);
  const raw = new BlockGrid(16, 16, 8);
  raw.addVoxels(slab, 0, 8, 16);
  assert.equal(raw.anyNonzero(0, 0, 8), true);
});
