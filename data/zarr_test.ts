import assert from "node:assert/strict";
import FileSystemStore from "@zarrita/storage/fs";
import type { AbsolutePath } from "zarrita";
import { voxels } from "./_test_util.ts";
import type { DepthWindow } from "./volume.ts";
import { createZarrV3, openZarr, probeZarr, readZarrImage, type StoreFactory } from "./zarr.ts";

const TESTDATA = new URL("./testdata/zarr/", import.meta.url).pathname;
const FRAGMENT = TESTDATA + "v2_fragment.zarr";
const OTHER = TESTDATA + "v2_other.zarr";

/** The maps of the fixtures, as in data/fixtures/gen_zarr_fixtures.py. */
const map = (f: (y: number, x: number) => boolean) =>
  Array.from(
    { length: 20 * 30 },
    (_, i) => f(Math.floor(i / 30), i % 30) ? 255 : 0,
  );
const MASK = map((y, x) => (y * 30 + x) % 3 === 0);
const LABELS = map((y, x) => (x + y) % 5 === 0);

/** A store factory that records the keys read. */
function recording(keys: string[]): StoreFactory {
  return (location) => {
    const store = new FileSystemStore(location);
    return {
      get: (key: AbsolutePath) => (keys.push(key), store.get(key)),
    };
  };
}

Deno.test("openZarr reads Zarr v2 written by zarr-python", async (t) => {
  const region = [3, 17, 5, 29] as const;
  const cases: [string, string, DepthWindow, number[], 8 | 16][] = [
    ["blosc, whole", FRAGMENT, { start: 0 }, [0, 1, 2], 16],
    ["blosc, window", FRAGMENT, { start: 1, count: 2 }, [1, 2], 16],
    ["blosc, reversed", FRAGMENT, { start: 0, reverse: true }, [2, 1, 0], 16],
    ["F order, / keys, zlib", OTHER, { start: 1, reverse: true }, [2, 1], 8],
  ];
  for (const [label, path, window, layers, bits] of cases) {
    await t.step(label, async () => {
      const volume = await openZarr(path, { window });
      assert.equal(volume.format, "zarr-v2");
      assert.equal(volume.dtype, bits === 8 ? "uint8" : "uint16");
      assert.deepEqual(volume.shape, [layers.length, 20, 30]);
      assert.deepEqual(volume.layers, layers);
      const data = await volume.readRegion(...region);
      assert.equal(data instanceof Uint8Array, bits === 8);
      assert.deepEqual([...data], voxels(layers, region, bits));
      assert.deepEqual(
        [...await volume.readRegion(0, 20, 0, 30)],
        voxels(layers, [0, 20, 0, 30], bits),
      );
      await assert.rejects(volume.readRegion(0, 20, 0, 31), RangeError);
      await volume.close();
    });
  }
  await t.step("the array's own path, and an explicit name", async () => {
    const direct = await openZarr(`${FRAGMENT}/surface`);
    assert.equal(direct.path, `${FRAGMENT}/surface`);
    const named = await openZarr(OTHER, { array: "scan" });
    assert.equal(named.path, `${OTHER}/scan`);
  });
  await t.step("reads only the chunks a region needs", async () => {
    const keys: string[] = [];
    const volume = await openZarr(FRAGMENT, {
      window: { start: 2, count: 1 },
      store: recording(keys),
    });
    keys.length = 0;
    await volume.readRegion(8, 16, 16, 30);
    assert.deepEqual(keys, ["/surface/1.1.1"]);
    keys.length = 0;
    await volume.readRegion(7, 9, 15, 17);
    assert.deepEqual(keys.sort(), [
      "/surface/1.0.0",
      "/surface/1.0.1",
      "/surface/1.1.0",
      "/surface/1.1.1",
    ]);
  });
});

Deno.test("readZarrImage reads 2D maps", async () => {
  const mask = await readZarrImage(FRAGMENT, "mask");
  assert.deepEqual([mask.height, mask.width], [20, 30]);
  assert.ok(mask.data instanceof Uint8Array);
  assert.deepEqual([...mask.data], MASK);
  assert.deepEqual(
    [...(await readZarrImage(FRAGMENT, "inklabels")).data],
    LABELS,
  );
  assert.deepEqual([...(await readZarrImage(`${OTHER}/mask`)).data], MASK);
});

Deno.test("probeZarr finds arrays and groups", async () => {
  assert.deepEqual(await probeZarr(FRAGMENT), { kind: "group", version: 2 });
  assert.deepEqual(await probeZarr(FRAGMENT, "mask"), {
    kind: "array",
    version: 2,
  });
  assert.equal(await probeZarr(FRAGMENT, "nothing"), undefined);
  assert.equal(await probeZarr(TESTDATA), undefined);
});

Deno.test("openZarr and readZarrImage reject bad input in one line", async (t) => {
  const dir = await Deno.makeTempDir();
  const rejects = (promise: Promise<unknown>, message: string) =>
    assert.rejects(promise, { name: "UserError", message });
  await t.step(
    "nonexistent path",
    () =>
      rejects(
        openZarr(`${dir}/none.zarr`),
        `Cannot open "${dir}/none.zarr": no such file or folder`,
      ),
  );
  await t.step("not a Zarr store", async () => {
    await rejects(
      openZarr(dir),
      `Cannot open "${dir}": not a Zarr array or group (no zarr.json, .zarray or .zgroup)`,
    );
    await Deno.writeTextFile(`${dir}/file`, "");
    await rejects(
      openZarr(`${dir}/file`),
      `Cannot open "${dir}/file": not a Zarr array or group (no zarr.json, .zarray or .zgroup)`,
    );
  });
  await t.step("invalid metadata", async () => {
    await Deno.mkdir(`${dir}/bad.zarr`);
    await Deno.writeTextFile(`${dir}/bad.zarr/.zarray`, "{");
    await assert.rejects(openZarr(`${dir}/bad.zarr`), {
      name: "UserError",
      message: new RegExp(
        `^Cannot open "${dir}/bad.zarr/.zarray": invalid JSON \\(.+\\)$`,
      ),
    });
  });
  await t.step("no such array in the group", async () => {
    await rejects(
      openZarr(FRAGMENT, { array: "volume" }),
      `Cannot open "${FRAGMENT}": the group has no array "volume" (arrays: inklabels, mask, surface)`,
    );
    const two = `${dir}/two.zarr`;
    await Deno.mkdir(two);
    await Deno.writeTextFile(
      `${two}/zarr.json`,
      '{"zarr_format":3,"node_type":"group"}',
    );
    for (const name of ["a", "b"]) {
      await createZarrV3(`${two}/${name}`, {
        shape: [1, 2, 2],
        dtype: "uint8",
        chunks: [1, 2, 2],
      });
    }
    await rejects(
      openZarr(two),
      `Cannot open "${two}": the group has no array "surface" (arrays: a, b); name the array`,
    );
  });
  await t.step("wrong rank or data type", async () => {
    await rejects(
      openZarr(`${FRAGMENT}/mask`),
      `Cannot open "${FRAGMENT}/mask": the array is 2D but a volume must be 3D (z, y, x)`,
    );
    await rejects(
      readZarrImage(FRAGMENT, "surface"),
      `Cannot open "${FRAGMENT}/surface": the array is 3D but an image must be 2D (y, x)`,
    );
    await createZarrV3(`${dir}/f.zarr`, {
      shape: [2, 2, 2],
      dtype: "float32",
      chunks: [2, 2, 2],
    });
    await rejects(
      openZarr(`${dir}/f.zarr`),
      `Cannot open "${dir}/f.zarr": data type float32 is not supported, only uint8 and uint16`,
    );
  });
  await t.step("a depth window past the last layer", () =>
    rejects(
      openZarr(FRAGMENT, { window: { start: 2, count: 2 } }),
      `Depth window start 2 count 2 needs layers 2..3 but "${FRAGMENT}/surface" has 3 layers (0..2)`,
    ));
  await t.step("a corrupt chunk", async () => {
    const copy = `${dir}/copy.zarr`;
    await Deno.mkdir(`${copy}/surface`, { recursive: true });
    for (
      const file of [
        ".zgroup",
        "surface/.zarray",
        "surface/1.0.0",
        "surface/1.1.1",
      ]
    ) {
      await Deno.copyFile(`${FRAGMENT}/${file}`, `${copy}/${file}`);
    }
    const chunk = `${copy}/surface/1.1.1`;
    const size = (await Deno.stat(chunk)).size;
    await Deno.truncate(chunk, size - 5);
    const volume = await openZarr(copy, { window: { start: 2, count: 1 } });
    assert.deepEqual(
      [...await volume.readRegion(0, 2, 0, 2)],
      voxels([2], [0, 2, 0, 2]),
      "chunks around the corrupt one still read",
    );
    await rejects(
      volume.readRegion(8, 16, 16, 30),
      `Cannot read chunk "surface/1.1.1" of "${copy}": truncated or corrupt Blosc data (${
        size - 5
      } bytes, the header says ${size})`,
    );
    await Deno.truncate(chunk, 0);
    await rejects(
      volume.readRegion(8, 16, 16, 30),
      `Cannot read chunk "surface/1.1.1" of "${copy}": truncated Blosc data (0 bytes, less than a header)`,
    );
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("createZarrV3 writes region by region", async (t) => {
  const dir = await Deno.makeTempDir();
  const shape = [3, 20, 30] as const;
  for (const compressor of ["blosc-zstd", "zstd", "none"] as const) {
    for (const bits of [8, 16] as const) {
      await t.step(`${compressor}, uint${bits}`, async () => {
        const path = `${dir}/${compressor}-${bits}.zarr`;
        const dtype = bits === 8 ? "uint8" : "uint16";
        const writer = await createZarrV3(path, {
          shape,
          dtype,
          chunks: [2, 8, 16],
          compressor,
        });
        for (let y = 0; y < 20; y += 7) {
          const rows = Math.min(7, 20 - y);
          const values = voxels([0, 1, 2], [y, y + rows, 0, 30], bits);
          const data = bits === 8 ? Uint8Array.from(values) : Uint16Array.from(values);
          await writer.writeRegion([0, y, 0], [3, rows, 30], data);
        }
        await writer.close();
        const volume = await openZarr(path, {
          window: { start: 1, reverse: true },
        });
        assert.equal(volume.format, "zarr-v3");
        assert.deepEqual(
          [...await volume.readRegion(2, 19, 3, 30)],
          voxels([2, 1], [2, 19, 3, 30], bits),
        );
      });
    }
  }
  await t.step("float32, with spec metadata", async () => {
    const path = `${dir}/float.zarr`;
    const writer = await createZarrV3(path, {
      shape: [5, 6],
      dtype: "float32",
      chunks: [4, 4],
    });
    const data = Float32Array.from({ length: 30 }, (_, i) => i / 7);
    await writer.writeRegion([0, 0], [5, 6], data);
    assert.deepEqual(await readZarrImage(path), { height: 5, width: 6, data });
    const meta = JSON.parse(await Deno.readTextFile(`${path}/zarr.json`));
    assert.deepEqual(meta.codecs[1], {
      name: "blosc",
      configuration: {
        cname: "zstd",
        clevel: 3,
        shuffle: "bitshuffle",
        typesize: 4,
        blocksize: 0,
      },
    });
    await writer.close();
    await assert.rejects(
      writer.writeRegion([0, 0], [1, 1], new Float32Array(1)),
      Error,
    );
  });
  await t.step("misuse", async () => {
    const path = `${dir}/misuse.zarr`;
    const writer = await createZarrV3(path, {
      shape: [4, 4],
      dtype: "uint8",
      chunks: [2, 2],
    });
    await assert.rejects(
      writer.writeRegion([0, 0], [2, 2], new Uint16Array(4)),
      TypeError,
    );
    await assert.rejects(
      writer.writeRegion([3, 0], [2, 2], new Uint8Array(4)),
      RangeError,
    );
    await assert.rejects(
      writer.writeRegion([0, 0], [2, 2], new Uint8Array(3)),
      RangeError,
    );
    await assert.rejects(
      createZarrV3(path, { shape: [4], dtype: "uint8", chunks: [2] }),
      {
        name: "UserError",
        message: `Cannot create "${path}": a Zarr array or group is already there`,
      },
    );
    await assert.rejects(
      createZarrV3(`${dir}/x.zarr`, {
        shape: [4, 4],
        dtype: "uint8",
        chunks: [2],
      }),
      RangeError,
    );
  });
  await Deno.remove(dir, { recursive: true });
});
