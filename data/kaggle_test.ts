import assert from "node:assert/strict";
import { openKaggle } from "./kaggle.ts";
import type { DepthWindow } from "./volume.ts";
import { voxels, writeStack } from "./_test_util.ts";
import { writeTiff } from "./tiff.ts";

Deno.test("openKaggle reads windows and regions of a TIFF stack", async (t) => {
  const dir = await Deno.makeTempDir();
  await writeStack(dir, { depth: 5, height: 20, width: 30, rowsPerStrip: 3 });
  const region = [4, 11, 7, 25] as const;
  const windows = [
    [{ start: 0 }, [0, 1, 2, 3, 4]],
    [{ start: 1, count: 2 }, [1, 2]],
    [{ start: 1, count: 2, reverse: true }, [2, 1]],
    [{ start: 3 }, [3, 4]],
    [{ start: 0, reverse: true }, [4, 3, 2, 1, 0]],
  ] as const;
  for (const [window, layers] of windows) {
    await t.step(JSON.stringify(window), async () => {
      const volume = await openKaggle(dir, window);
      try {
        assert.equal(volume.format, "kaggle-tiff");
        assert.equal(volume.path, dir);
        assert.equal(volume.dtype, "uint16");
        assert.deepEqual(volume.shape, [layers.length, 20, 30]);
        assert.deepEqual(volume.layers, layers);
        const data = await volume.readRegion(...region);
        assert.ok(data instanceof Uint16Array);
        assert.deepEqual([...data], voxels(layers, region));
        const all = await volume.readRegion(0, 20, 0, 30);
        assert.deepEqual([...all], voxels(layers, [0, 20, 0, 30]));
        await assert.rejects(volume.readRegion(0, 21, 0, 30), RangeError);
      } finally {
        await volume.close();
      }
    });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openKaggle accepts any zero-padding, .tiff and 8-bit slices", async (t) => {
  const cases = [
    ["unpadded", (z: number) => `${z}.tif`],
    ["four digits, .tiff", (z: number) => `${String(z).padStart(4, "0")}.tiff`],
  ] as const;
  for (const [label, name] of cases) {
    await t.step(label, async () => {
      const dir = await Deno.makeTempDir();
      await writeStack(dir, { depth: 12, height: 3, width: 4, bits: 8, name });
      const volume = await openKaggle(dir, { start: 8, count: 4 });
      assert.equal(volume.dtype, "uint8");
      assert.deepEqual(volume.layers, [8, 9, 10, 11]);
      const data = await volume.readRegion(0, 3, 0, 4);
      assert.ok(data instanceof Uint8Array);
      assert.deepEqual([...data], voxels([8, 9, 10, 11], [0, 3, 0, 4], 8));
      await volume.close();
      await Deno.remove(dir, { recursive: true });
    });
  }
});

Deno.test("openKaggle rejects bad folders in one line", async (t) => {
  const root = await Deno.makeTempDir();
  const rejects = (
    dir: string,
    message: string,
    window: DepthWindow = { start: 0 },
  ) => assert.rejects(openKaggle(dir, window), { name: "UserError", message });
  const stack = async (name: string, depth = 4) => {
    await writeStack(`${root}/${name}`, { depth, height: 6, width: 5 });
    return `${root}/${name}`;
  };
  await t.step(
    "nonexistent path",
    () =>
      rejects(
        `${root}/none`,
        `Cannot open "${root}/none": no such file or folder`,
      ),
  );
  await t.step("a file, not a folder", async () => {
    await Deno.writeTextFile(`${root}/file`, "");
    await rejects(`${root}/file`, `Cannot open "${root}/file": not a folder`);
  });
  await t.step("no surface_volume", async () => {
    await Deno.mkdir(`${root}/empty`);
    await rejects(
      `${root}/empty`,
      `Cannot open "${root}/empty": no surface_volume folder (a Kaggle fragment has surface_volume/00.tif, 01.tif, ...)`,
    );
    await Deno.mkdir(`${root}/empty/surface_volume`);
    await Deno.writeTextFile(`${root}/empty/surface_volume/notes.txt`, "");
    await rejects(
      `${root}/empty`,
      `Cannot open "${root}/empty/surface_volume": no numbered .tif slices`,
    );
  });
  await t.step("a slice missing from the sequence", async () => {
    const dir = await stack("gap");
    await Deno.remove(`${dir}/surface_volume/02.tif`);
    await rejects(
      dir,
      `Cannot open "${dir}/surface_volume": slice "02.tif" is missing (found 3 slices up to "03.tif")`,
    );
    await Deno.remove(`${dir}/surface_volume/00.tif`);
    await rejects(
      dir,
      `Cannot open "${dir}/surface_volume": slice "00.tif" is missing (found 2 slices up to "03.tif")`,
    );
  });
  await t.step("two files for one layer", async () => {
    const dir = await stack("twice");
    await Deno.copyFile(
      `${dir}/surface_volume/01.tif`,
      `${dir}/surface_volume/1.tif`,
    );
    await assert.rejects(openKaggle(dir), {
      name: "UserError",
      message:
        /^Cannot open ".*\/twice\/surface_volume": "(01|1)\.tif" and "(01|1)\.tif" are both layer 1$/,
    });
  });
  await t.step("slices of different sizes", async () => {
    const dir = await stack("sizes");
    await writeTiff(`${dir}/surface_volume/03.tif`, 5, 7, new Uint16Array(35));
    await rejects(
      dir,
      `Cannot read "${dir}/surface_volume/03.tif": slice is 5x7 but "00.tif" is 5x6`,
    );
  });
  await t.step("an 8-bit slice in a 16-bit stack", async () => {
    const dir = await stack("bits");
    await writeTiff(`${dir}/surface_volume/01.tif`, 5, 6, new Uint8Array(30));
    await rejects(
      dir,
      `Cannot read "${dir}/surface_volume/01.tif": slice is 8-bit but "00.tif" is 16-bit`,
    );
  });
  await t.step("a slice that is not a TIFF", async () => {
    const dir = await stack("text");
    await Deno.writeTextFile(`${dir}/surface_volume/03.tif`, "not an image");
    await rejects(
      dir,
      `Cannot read "${dir}/surface_volume/03.tif": not a TIFF file`,
    );
  });
  await t.step("a depth window past the last layer", async () => {
    const dir = await stack("window");
    const where = `"${dir}/surface_volume"`;
    await rejects(
      dir,
      `Depth window start 24 count 16 needs layers 24..39 but ${where} has 4 layers (0..3)`,
      { start: 24, count: 16 },
    );
    await rejects(
      dir,
      `Depth window start 2 count 3 needs layers 2..4 but ${where} has 4 layers (0..3)`,
      { start: 2, count: 3 },
    );
    await rejects(
      dir,
      `Depth window start 4 needs layer 4 but ${where} has 4 layers (0..3)`,
      { start: 4 },
    );
    await rejects(
      dir,
      "Depth window start -1 is invalid: start must be a whole number from 0 and count from 1",
      { start: -1 },
    );
    await rejects(
      dir,
      "Depth window start 0 count 0 is invalid: start must be a whole number from 0 and count from 1",
      { start: 0, count: 0 },
    );
  });
  await Deno.remove(root, { recursive: true });
});

const openFiles = () => [...Deno.readDirSync("/proc/self/fd")].length;

Deno.test({
  name: "openKaggle closes its files on errors and on close()",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const dir = await Deno.makeTempDir();
    await writeStack(dir, { depth: 4, height: 6, width: 5 });
    const before = openFiles();
    const volume = await openKaggle(dir, { start: 1, count: 2 });
    assert.equal(openFiles(), before + 2, "only the window's slices stay open");
    await volume.close();
    assert.equal(openFiles(), before);
    await Deno.writeTextFile(`${dir}/surface_volume/03.tif`, "not an image");
    await assert.rejects(openKaggle(dir), { name: "UserError" });
    assert.equal(openFiles(), before);
    await Deno.remove(dir, { recursive: true });
  },
});
