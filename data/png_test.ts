import assert from "node:assert/strict";
import { readPng, writePng } from "./png.ts";

const TESTDATA = new URL("./testdata/png/", import.meta.url).pathname;

/** The values of the fixtures, as in data/fixtures/gen_image_fixtures.py. */
function pattern(levels: number, scale = 1): number[] {
  return Array.from(
    { length: 5 * 13 },
    (_, i) => ((i % 13 + 3 * Math.floor(i / 13)) % levels) * scale,
  );
}

Deno.test("readPng reads stored values from any PNG colour type", async (t) => {
  const cases: [string, number[]][] = [
    ["palette_1bit.png", pattern(2)],
    ["bilevel.png", pattern(2)],
    ["grey_2bit.png", pattern(4)],
    ["grey_alpha.png", pattern(4, 60)],
    ["rgb.png", pattern(4, 60)],
    ["rgba.png", pattern(4, 60)],
  ];
  for (const [name, values] of cases) {
    await t.step(name, async () => {
      const image = await readPng(TESTDATA + name);
      assert.deepEqual([image.height, image.width], [5, 13]);
      assert.ok(image.data instanceof Uint8Array);
      assert.deepEqual([...image.data], values);
    });
  }
});

Deno.test("writePng round-trips exactly", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.png`;
  await t.step("8-bit", async () => {
    const data = Uint8Array.from({ length: 6 * 7 }, (_, i) => i * 6);
    await writePng(path, { height: 6, width: 7, data });
    assert.deepEqual(await readPng(path), { height: 6, width: 7, data });
  });
  await t.step("16-bit", async () => {
    const data = Uint16Array.from({ length: 3 * 9 }, (_, i) => i * 2427);
    await writePng(path, { height: 3, width: 9, data }, { bitDepth: 16 });
    assert.deepEqual(await readPng(path), { height: 3, width: 9, data });
  });
  await t.step("other arrays at a chosen depth", async () => {
    const data = new Float32Array([0, 1, 255, 7]);
    await writePng(path, { height: 2, width: 2, data }, { bitDepth: 8 });
    assert.deepEqual(await readPng(path), {
      height: 2,
      width: 2,
      data: new Uint8Array([0, 1, 255, 7]),
    });
    const small = new Uint8Array([3, 4]);
    await writePng(path, { height: 1, width: 2, data: small }, {
      bitDepth: 16,
    });
    assert.deepEqual((await readPng(path)).data, new Uint16Array([3, 4]));
  });
  await t.step("values that do not fit", async () => {
    const image = (data: Uint16Array | Float32Array) => ({
      height: 1,
      width: 2,
      data,
    });
    await assert.rejects(
      writePng(path, image(new Uint16Array([1, 256])), { bitDepth: 8 }),
      {
        name: "RangeError",
        message: "writePng: value 256 at index 1 does not fit in 8 bits",
      },
    );
    await assert.rejects(
      writePng(path, image(new Float32Array([0.5, 1]))),
      RangeError,
    );
    await assert.rejects(
      writePng(path, { height: 2, width: 2, data: new Uint8Array(3) }),
      RangeError,
    );
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readPng rejects what it cannot read, in one line", async (t) => {
  const dir = await Deno.makeTempDir();
  const rejects = (path: string, why: string) =>
    assert.rejects(readPng(path), {
      name: "UserError",
      message: `Cannot read "${path}": ${why}`,
    });
  await t.step(
    "missing file",
    () => rejects(`${dir}/no.png`, "file not found"),
  );
  await t.step("not a PNG", async () => {
    await Deno.writeTextFile(`${dir}/text.png`, "hello");
    await rejects(`${dir}/text.png`, "not a PNG file");
  });
  await t.step("truncated", async () => {
    const bytes = await Deno.readFile(TESTDATA + "rgb.png");
    await Deno.writeFile(`${dir}/cut.png`, bytes.subarray(0, 40));
    await rejects(
      `${dir}/cut.png`,
      "corrupt or truncated PNG (Offset is outside the bounds of the DataView)",
    );
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("PngWriter streams rows that readPng reads back, 8 and 16 bits, grey and RGB", async () => {
  const { PngWriter } = await import("./png.ts");
  const path = await Deno.makeTempFile({ suffix: ".png" });
  const [height, width] = [37, 29];
  for (const bitDepth of [8, 16] as const) {
    const max = bitDepth === 8 ? 255 : 65535;
    const data = bitDepth === 8 ? new Uint8Array(height * width) : new Uint16Array(height * width);
    for (let i = 0; i < data.length; i++) data[i] = Math.floor(Math.random() * (max + 1));
    const png = await PngWriter.create(path, { height, width, bitDepth });
    for (let y = 0; y < height; y += 5) {
      await png.writeRows(data.subarray(y * width, Math.min(y + 5, height) * width));
    }
    await png.close();
    const back = await readPng(path);
    assert.deepEqual([back.height, back.width], [height, width]);
    assert.deepEqual([...back.data], [...data], `${bitDepth}-bit`);
  }
  const rgb = Uint8Array.from({ length: 3 * height * width }, (_, i) => i % 251);
  const png = await PngWriter.create(path, { height, width, channels: 3 });
  await png.writeRows(rgb);
  await png.close();
  const red = await readPng(path); // readPng keeps the first channel
  assert.deepEqual([...red.data], [...rgb.filter((_, i) => i % 3 === 0)]);
  const short = await PngWriter.create(path, { height, width });
  await assert.rejects(() => short.close(), /0 of 37 rows written/);
});
