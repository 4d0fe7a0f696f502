import assert from "node:assert/strict";
import { getGpu } from "../kernels/device.ts";
import { assertClose } from "../kernels/compare.ts";
import { downloadTensor } from "../kernels/tensor.ts";
import { tileCropRef } from "../kernels/tile_crop/ref.ts";
import { memoryVolume } from "../data/memory_volume.ts";
import { tileStream, type TileStreamOptions } from "./tile_crop.ts";
import { paddedSize, tileOrigins } from "./tiling.ts";

/** A volume with a zero border and a zero hole, so some tiles are dropped. */
function sparseVolume(d: number, h: number, w: number): Uint16Array {
  const v = new Uint16Array(d * h * w);
  for (let z = 0; z < d; z++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = y > 3 && x > 5 && y < h - 9 && !(y > 20 && y < 40 && x > 10 && x < 50);
        if (inside) v[(z * h + y) * w + x] = Math.floor(Math.random() * 65536);
      }
    }
  }
  return v;
}

async function runStream(
  data: Uint16Array,
  shape: [number, number, number],
  o: TileStreamOptions,
  mask?: Uint8Array,
) {
  const vol = {
    kind: "volume" as const,
    source: memoryVolume(data, shape),
    normalize: "seed" as const,
    mask: mask ? { height: shape[1], width: shape[2], data: mask } : undefined,
  };
  const stream = tileStream(getGpu, vol, o);
  const tiles: { origin: [number, number]; data: Float32Array }[] = [];
  for await (const b of stream.batches) {
    const host = await downloadTensor(b.tensor) as Float32Array;
    const n = shape[0] * o.tile * o.tile;
    for (let i = 0; i < b.count; i++) {
      tiles.push({
        origin: [b.origins[2 * i], b.origins[2 * i + 1]],
        data: host.slice(i * n, (i + 1) * n),
      });
    }
    b.release();
  }
  return { stream, tiles };
}

const base: TileStreamOptions = {
  tile: 16,
  stride: 4,
  batch: 5,
  padding: "seed",
  keep: "nonzero",
  min_mask_coverage: 0,
};

Deno.test("tile_crop streams the seed's tiles, in raster order, equal to the reference", async () => {
  const shape: [number, number, number] = [3, 61, 70];
  const data = sparseVolume(...shape);
  const { stream, tiles } = await runStream(data, shape, base);
  const ys = tileOrigins(paddedSize(61, 16), 16, 4);
  const xs = tileOrigins(paddedSize(70, 16), 16, 4);
  assert.equal(stream.total, ys.length * xs.length);
  const expected: [number, number][] = [];
  for (const y0 of ys) {
    for (const x0 of xs) {
      // The seed keeps a tile when any voxel is non-zero; compare on raw values, not normalised ones.
      let any = false;
      for (let z = 0; z < 3 && !any; z++) {
        for (let y = y0; y < Math.min(y0 + 16, 61) && !any; y++) {
          for (let x = x0; x < Math.min(x0 + 16, 70); x++) {
            if (data[(z * 61 + y) * 70 + x]) any = true;
          }
        }
      }
      if (any) expected.push([y0, x0]);
    }
  }
  assert.ok(expected.length < ys.length * xs.length, "the test volume must drop some tiles");
  assert.deepEqual(tiles.map((t) => t.origin), expected);
  for (const t of tiles) {
    assertClose(
      t.data,
      tileCropRef(data, shape, 16, t.origin, "seed"),
      { atol: 0, rtol: 0 },
      `tile ${t.origin}`,
    );
  }
});

Deno.test("tile_crop keeps every position with keep=all and filters by mask coverage", async () => {
  const shape: [number, number, number] = [2, 40, 36];
  const data = sparseVolume(...shape);
  const all = await runStream(data, shape, { ...base, keep: "all", stride: 8, batch: 3 });
  assert.equal(all.tiles.length, all.stream.total);
  const mask = new Uint8Array(40 * 36);
  for (let y = 0; y < 20; y++) mask.fill(255, y * 36, (y + 1) * 36); // top half only
  const masked = await runStream(data, shape, {
    ...base,
    keep: "all",
    stride: 8,
    min_mask_coverage: 0.5,
  }, mask);
  for (const t of masked.tiles) {
    assert.ok(t.origin[0] <= 12, `tile ${t.origin} is mostly outside the mask`);
  }
  assert.ok(masked.tiles.length > 0);
});

Deno.test("tile_crop releases its GPU memory when the consumer stops early", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const shape: [number, number, number] = [2, 64, 64];
  const vol = {
    kind: "volume" as const,
    source: memoryVolume(sparseVolume(...shape), shape),
    normalize: "u16" as const,
  };
  const stream = tileStream(getGpu, vol, base);
  for await (const b of stream.batches) {
    b.release();
    break;
  }
  assert.equal(gpu.pool.stats().inUseBytes, before);
});
