import assert from "node:assert/strict";
import { voxels, writeStack } from "./_test_util.ts";
import { writePng } from "./png.ts";
import { openMaskAndLabels, openVolume } from "./volume.ts";
import { createZarrV3 } from "./zarr.ts";

const FRAGMENT = new URL("./testdata/zarr/v2_fragment.zarr", import.meta.url)
  .pathname;

Deno.test("openVolume opens either format, with the same windows", async (t) => {
  const dir = await Deno.makeTempDir();
  const [depth, height, width] = [4, 24, 40];
  await writeStack(`${dir}/kaggle`, { depth, height, width, rowsPerStrip: 5 });
  const writer = await createZarrV3(`${dir}/v3.zarr`, {
    shape: [depth, height, width],
    dtype: "uint16",
    chunks: [2, 16, 16],
  });
  type Region = [number, number, number, number];
  const all: Region = [0, height, 0, width];
  await writer.writeRegion(
    [0, 0, 0],
    [depth, height, width],
    Uint16Array.from(voxels([0, 1, 2, 3], all)),
  );
  await writer.close();
  const windows = [
    { start: 0 },
    { start: 1, count: 2 },
    { start: 1, count: 2, reverse: true },
    { start: 2, reverse: true },
  ];
  for (const window of windows) {
    await t.step(JSON.stringify(window), async () => {
      const kaggle = await openVolume(`${dir}/kaggle`, { window });
      const zarr = await openVolume(`${dir}/v3.zarr`, { window });
      assert.deepEqual([kaggle.format, zarr.format], [
        "kaggle-tiff",
        "zarr-v3",
      ]);
      assert.deepEqual(kaggle.layers, zarr.layers);
      assert.deepEqual(kaggle.shape, zarr.shape);
      for (const region of [all, [3, 21, 15, 33]] as Region[]) {
        const data = await kaggle.readRegion(...region);
        assert.deepEqual(data, await zarr.readRegion(...region));
        assert.deepEqual([...data], voxels(kaggle.layers, region));
      }
      await kaggle.close();
      await zarr.close();
    });
  }
  await t.step("a Zarr group picks its surface array", async () => {
    const volume = await openVolume(FRAGMENT, { window: { start: 1 } });
    assert.equal(volume.path, `${FRAGMENT}/surface`);
    assert.deepEqual(volume.layers, [1, 2]);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openVolume rejects paths in neither format", async (t) => {
  const dir = await Deno.makeTempDir();
  await t.step("nonexistent", () =>
    assert.rejects(openVolume(`${dir}/none`), {
      name: "UserError",
      message: `Cannot open "${dir}/none": no such file or folder`,
    }));
  await t.step("a plain folder or file", async () => {
    await Deno.writeTextFile(`${dir}/a.tif`, "");
    for (const path of [dir, `${dir}/a.tif`]) {
      await assert.rejects(openVolume(path), {
        name: "UserError",
        message:
          `Cannot open "${path}": not a Kaggle fragment folder (no surface_volume/) or a Zarr store (no zarr.json, .zarray or .zgroup)`,
      });
    }
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openMaskAndLabels reads PNGs or Zarr arrays when present", async (t) => {
  const dir = await Deno.makeTempDir();
  await t.step("Kaggle folder", async () => {
    const mask = {
      height: 2,
      width: 3,
      data: new Uint8Array([0, 255, 255, 0, 0, 255]),
    };
    assert.deepEqual(await openMaskAndLabels(dir), {});
    await writePng(`${dir}/mask.png`, mask);
    assert.deepEqual(await openMaskAndLabels(dir), { mask });
    const labels = { ...mask, data: mask.data.map((v) => 255 - v) };
    await writePng(`${dir}/inklabels.png`, labels);
    assert.deepEqual(await openMaskAndLabels(dir), { mask, labels });
  });
  await t.step("Zarr group and array", async () => {
    const { mask, labels } = await openMaskAndLabels(FRAGMENT);
    assert.deepEqual(
      [mask?.height, mask?.width, labels?.height, labels?.width],
      [20, 30, 20, 30],
    );
    assert.deepEqual(await openMaskAndLabels(`${FRAGMENT}/surface`), {});
  });
  await t.step(
    "nonexistent",
    () =>
      assert.rejects(openMaskAndLabels(`${dir}/none`), {
        name: "UserError",
        message: `Cannot open "${dir}/none": no such file or folder`,
      }),
  );
  await Deno.remove(dir, { recursive: true });
});
