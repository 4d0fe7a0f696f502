/**
 * Real-data tests on Fragment 1 in `../shared/data/` (beside the repository):
 * the TIFF stack and the Zarr store read into the same arrays, and into what
 * Python reads (data/testdata/fragment1_fixture.json, written by
 * data/fixtures/gen_fragment1_fixture.py). Skipped when the data is absent.
 */

import assert from "node:assert/strict";
import type { Image2D } from "./image.ts";
import { readPng } from "./png.ts";
import { openMaskAndLabels, openVolume, type VolumeSource } from "./volume.ts";

const DATA = new URL("../../shared/data/", import.meta.url).pathname;
const TIFF = DATA + "fragment1-16um";
const ZARR = DATA + "fragment1-16um.zarr";
const present = await Deno.stat(DATA).then(() => true, () => false);
if (!present) {
  console.log(`fragment1_test.ts: skipped, no real data in ${DATA}`);
}
const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL("./testdata/fragment1_fixture.json", import.meta.url),
  ),
);

type Region = [number, number, number, number];

/** Sums of each layer of a (depth, rows * cols) array. */
function layerSums(data: ArrayLike<number>, depth: number): number[] {
  const size = data.length / depth;
  return Array.from({ length: depth }, (_, z) => {
    let sum = 0;
    for (let i = z * size; i < (z + 1) * size; i++) sum += data[i];
    return sum;
  });
}

/** The statistics gen_fragment1_fixture.py records, read through a volume. */
async function volumeStats(volume: VolumeSource) {
  const [depth, height, width] = volume.shape;
  const read = (...region: Region) => volume.readRegion(...region);
  const sums = new Array(depth).fill(0);
  for (let y = 0; y < height; y += 128) {
    const band = await read(y, Math.min(y + 128, height), 0, width);
    layerSums(band, depth).forEach((s, z) => sums[z] += s);
  }
  const { row, column, points, regionSums } = fixture.tiff;
  return {
    shape: [...volume.shape],
    dtype: volume.dtype,
    layerSums: sums,
    row: {
      ...row,
      values: [...(await read(row.y, row.y + 1, row.x0, row.x1))]
        .slice(row.z * (row.x1 - row.x0), (row.z + 1) * (row.x1 - row.x0)),
    },
    column: {
      ...column,
      values: [...(await read(column.y0, column.y1, column.x, column.x + 1))]
        .slice(
          column.z * (column.y1 - column.y0),
          (column.z + 1) * (column.y1 - column.y0),
        ),
    },
    points: await Promise.all(
      points.map(async (
        [z, y, x]: number[],
      ) => [z, y, x, (await read(y, y + 1, x, x + 1))[z]]),
    ),
    regionSums: await Promise.all(
      regionSums.map(async ({ region }: { region: Region }) => ({
        region,
        sums: layerSums(await read(...region), depth),
      })),
    ),
  };
}

function imageStats({ height, width, data }: Image2D) {
  let [sum, nonzero] = [0, 0];
  for (const v of data) [sum, nonzero] = [sum + v, nonzero + (v ? 1 : 0)];
  const rows = [0, Math.floor(height / 3), Math.floor(height / 2)];
  return {
    shape: [height, width],
    dtype: data instanceof Uint8Array ? "uint8" : "uint16",
    sum,
    nonzero,
    rowSums: Object.fromEntries(
      rows.map((
        y,
      ) => [y, layerSums(data.subarray(y * width, (y + 1) * width), 1)[0]]),
    ),
  };
}

Deno.test({
  name: "Fragment 1 TIFF stack and Zarr read like Python reads them",
  ignore: !present,
  async fn(t) {
    const tiff = await openVolume(TIFF);
    const zarr = await openVolume(ZARR);
    try {
      await t.step("formats", () => {
        assert.deepEqual([tiff.format, zarr.format], [
          "kaggle-tiff",
          "zarr-v2",
        ]);
        assert.equal(zarr.path, `${ZARR}/surface`);
      });
      await t.step(
        "TIFF stack",
        async () => assert.deepEqual(await volumeStats(tiff), fixture.tiff),
      );
      await t.step(
        "Zarr",
        async () => assert.deepEqual(await volumeStats(zarr), fixture.zarr),
      );
      await t.step("identical arrays", async () => {
        const [, height, width] = tiff.shape;
        assert.deepEqual(
          await tiff.readRegion(0, height, 0, width),
          await zarr.readRegion(0, height, 0, width),
        );
      });
    } finally {
      await tiff.close();
      await zarr.close();
    }
  },
});

Deno.test({
  name: "Fragment 1 windows agree between the TIFF stack and the Zarr",
  ignore: !present,
  async fn() {
    const window = { start: 1, count: 2, reverse: true };
    const tiff = await openVolume(TIFF, { window });
    const zarr = await openVolume(ZARR, { window });
    const whole = await openVolume(ZARR);
    assert.deepEqual(tiff.layers, [2, 1]);
    assert.deepEqual(zarr.layers, [2, 1]);
    for (
      const region of [[0, 1636, 0, 1266], [700, 900, 130, 1100]] as Region[]
    ) {
      const data = await tiff.readRegion(...region);
      assert.deepEqual(data, await zarr.readRegion(...region));
      const all = await whole.readRegion(...region);
      const size = data.length / 2;
      assert.deepEqual(
        data.subarray(0, size),
        all.subarray(2 * size, 3 * size),
      );
      assert.deepEqual(data.subarray(size), all.subarray(size, 2 * size));
    }
    await Promise.all([tiff.close(), zarr.close(), whole.close()]);
  },
});

Deno.test({
  name: "Fragment 1 masks and labels read like Python reads them",
  ignore: !present,
  async fn(t) {
    await t.step("PNGs", async () => {
      const { mask, labels } = await openMaskAndLabels(TIFF);
      assert.deepEqual(imageStats(mask!), fixture.png.mask);
      assert.deepEqual(imageStats(labels!), fixture.png.inklabels);
    });
    await t.step("Zarr arrays", async () => {
      const { mask, labels } = await openMaskAndLabels(ZARR);
      assert.deepEqual(imageStats(mask!), fixture.zarrMaps.mask);
      assert.deepEqual(imageStats(labels!), fixture.zarrMaps.inklabels);
    });
    await t.step("full-resolution palette PNGs decode to indices", async () => {
      for (const name of ["mask", "inklabels"]) {
        const image = await readPng(
          `${DATA}fragment1-labels-fullres/${name}.png`,
        );
        assert.deepEqual(imageStats(image), fixture.fullres[name]);
      }
    });
  },
});
