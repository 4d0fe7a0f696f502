import assert from "node:assert/strict";
import { openTiff, type TiffImage, writeTiff } from "./tiff.ts";

const TESTDATA = new URL("./testdata/tiff/", import.meta.url).pathname;

/** The pixel values of the fixtures, as in data/fixtures/gen_tiff_fixtures.py. */
function pattern(y: number, x: number, bits: 8 | 16): number {
  return (x * 31 + y * 257 + x * y * 7) & (bits === 8 ? 0xff : 0xffff);
}

function noise(y: number, x: number): number {
  return ((x * 7919) ^ (y * 104729)) >> 3 & 0xff;
}

function expected(
  value: (y: number, x: number) => number,
  y0: number,
  y1: number,
  x0: number,
  x1: number,
): number[] {
  const out = [];
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) out.push(value(y, x));
  }
  return out;
}

async function withTiff<T>(
  path: string,
  fn: (tiff: TiffImage) => Promise<T>,
): Promise<T> {
  const tiff = await openTiff(path);
  try {
    return await fn(tiff);
  } finally {
    tiff.close();
  }
}

Deno.test("openTiff reads files written by tifffile, OpenCV and Pillow", async (t) => {
  const layouts: [string, 8 | 16][] = [
    ["u16_be_strips.tif", 16],
    ["u16_be_tiled.tif", 16],
    ["u16_deflate_predictor_strips.tif", 16],
    ["u16_lzw_predictor_opencv.tif", 16],
    ["u8_be_deflate_tiled.tif", 8],
    ["u8_packbits_pillow.tif", 8],
  ];
  for (const [name, bits] of layouts) {
    await t.step(name, () =>
      withTiff(TESTDATA + name, async (tiff) => {
        assert.deepEqual([tiff.width, tiff.height, tiff.bitsPerSample], [
          37,
          23,
          bits,
        ]);
        const value = (y: number, x: number) => pattern(y, x, bits);
        const all = await tiff.readRows(0, 23);
        assert.equal(all instanceof Uint16Array, bits === 16);
        assert.deepEqual([...all], expected(value, 0, 23, 0, 37));
        assert.deepEqual(
          [...await tiff.readRows(3, 18, 5, 30)],
          expected(value, 3, 18, 5, 30),
        );
        assert.deepEqual([...await tiff.readRows(22, 23, 36, 37)], [
          value(22, 36),
        ]);
      }));
  }
  await t.step(
    "u8_noise_lzw_pillow.tif (LZW table resets)",
    () =>
      withTiff(TESTDATA + "u8_noise_lzw_pillow.tif", async (tiff) => {
        assert.deepEqual([tiff.width, tiff.height], [128, 96]);
        assert.deepEqual(
          [...await tiff.readRows(0, 96)],
          expected(noise, 0, 96, 0, 128),
        );
        assert.deepEqual(
          [...await tiff.readRows(50, 60, 7, 99)],
          expected(noise, 50, 60, 7, 99),
        );
      }),
  );
});

Deno.test("writeTiff round-trips and openTiff reads only the bytes asked for", async (t) => {
  const dir = await Deno.makeTempDir();
  await t.step("8-bit, several strips", async () => {
    const data = Uint8Array.from({ length: 7 * 5 }, (_, i) => (i * 37) & 0xff);
    await writeTiff(`${dir}/a.tif`, 7, 5, data, { rowsPerStrip: 2 });
    await withTiff(`${dir}/a.tif`, async (tiff) => {
      assert.equal(tiff.bitsPerSample, 8);
      assert.deepEqual(await tiff.readRows(0, 5), data);
      assert.deepEqual([...await tiff.readRows(1, 4, 2, 3)], [
        data[9],
        data[16],
        data[23],
      ]);
    });
  });
  await t.step("16-bit, one strip, partial reads", async () => {
    const [width, height] = [1000, 500];
    const data = Uint16Array.from(
      { length: width * height },
      (_, i) => (i * 7919) & 0xffff,
    );
    await writeTiff(`${dir}/b.tif`, width, height, data);
    await withTiff(`${dir}/b.tif`, async (tiff) => {
      const before = tiff.bytesRead;
      const rows = await tiff.readRows(100, 102, 10, 20);
      assert.deepEqual(
        [...rows],
        [
          ...data.subarray(100 * width + 10, 100 * width + 20),
          ...data.subarray(101 * width + 10, 101 * width + 20),
        ],
      );
      assert.equal(tiff.bytesRead - before, (width + 10) * 2);
    });
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("openTiff rejects what it cannot read, in one line", async (t) => {
  const dir = await Deno.makeTempDir();
  const rejects = (path: string, why: string) =>
    assert.rejects(openTiff(path), {
      name: "UserError",
      message: `Cannot read "${path}": ${why}`,
    });
  await t.step(
    "missing file",
    () => rejects(`${dir}/none.tif`, "file not found"),
  );
  await t.step("not a TIFF", async () => {
    await Deno.writeTextFile(`${dir}/text.tif`, "hello, world");
    await rejects(`${dir}/text.tif`, "not a TIFF file");
    await Deno.writeTextFile(`${dir}/tiny.tif`, "II");
    await rejects(`${dir}/tiny.tif`, "not a TIFF file");
  });
  await t.step("truncated", async () => {
    await writeTiff(`${dir}/t.tif`, 10, 10, new Uint16Array(100));
    await Deno.truncate(`${dir}/t.tif`, 150);
    await rejects(
      `${dir}/t.tif`,
      "file is truncated (the image data ends at byte 322 but the file has 150)",
    );
    await Deno.truncate(`${dir}/t.tif`, 20);
    await rejects(`${dir}/t.tif`, "file is truncated (20 bytes)");
  });
  await t.step("unsupported layouts", async () => {
    await rejects(
      TESTDATA + "rgb.tif",
      "3 samples per pixel (RGB or similar) is not supported, only greyscale",
    );
    await rejects(
      TESTDATA + "float32.tif",
      "32-bit samples are not supported, only 8- and 16-bit",
    );
    await rejects(
      TESTDATA + "int16.tif",
      "signed integer samples are not supported, only unsigned integers",
    );
    await rejects(TESTDATA + "bigtiff.tif", "BigTIFF is not supported");
  });
  await t.step("corrupt strip", async () => {
    const bytes = await Deno.readFile(
      TESTDATA + "u16_deflate_predictor_strips.tif",
    );
    bytes[288] = 0; // the zlib header of strip 0
    await Deno.writeFile(`${dir}/corrupt.tif`, bytes);
    await withTiff(
      `${dir}/corrupt.tif`,
      (corrupt) =>
        assert.rejects(corrupt.readRows(0, 1), {
          name: "UserError",
          message: `Cannot read "${dir}/corrupt.tif": strip 0 is corrupt (incorrect header check)`,
        }),
    );
  });
  await t.step(
    "regions outside the image are a caller bug",
    () =>
      withTiff(TESTDATA + "u16_be_strips.tif", async (tiff) => {
        await assert.rejects(tiff.readRows(0, 24), RangeError);
        await assert.rejects(tiff.readRows(5, 5), RangeError);
        await assert.rejects(tiff.readRows(0, 1, 30, 38), RangeError);
      }),
  );
  await Deno.remove(dir, { recursive: true });
});
