import assert from "node:assert/strict";
import {
  type Band,
  type BinaryImage,
  ComponentLabeler,
  fillSmallHoles,
  labelComponents,
  postprocessBands,
  removeSmallComponents,
} from "./components.ts";
import { bands, concat, readBinary, readJson, sha256 } from "./_test_util.ts";

const fixtures = await readJson("components.json");
const names = Object.keys(fixtures);
const images = new Map<string, BinaryImage>();
for (const name of names) images.set(name, await readBinary(`binary/${name}.png`));
const HEIGHTS = [1, 7, 64, Infinity];

async function collect(stream: AsyncIterable<Band>): Promise<Uint8Array> {
  const parts = [];
  for await (const band of stream) parts.push(band.data);
  return concat(parts);
}

Deno.test("8-connected component sizes and border flags match OpenCV for every band height", async () => {
  for (const name of names) {
    const image = images.get(name)!;
    const { sizes, touchesBorder } = fixtures[name];
    for (const rows of HEIGHTS) {
      const c = await labelComponents(bands(image, rows), image.width);
      const at = `${name}, bands of ${rows}`;
      assert.deepEqual([...c.sizes], sizes, at);
      assert.deepEqual([...c.touchesBorder], touchesBorder, at);
      assert.equal(c.count, sizes.length, at);
      assert.deepEqual([c.height, c.width], [image.height, image.width], at);
    }
  }
});

Deno.test("4-connected background components match OpenCV", async () => {
  for (const name of names) {
    const image = images.get(name)!;
    const { sizes, touchesBorder } = fixtures[name].background;
    for (const rows of [1, 7, Infinity]) {
      const options = { connectivity: 4, background: true } as const;
      const c = await labelComponents(bands(image, rows), image.width, options);
      assert.deepEqual([...c.sizes], sizes, `${name}, bands of ${rows}`);
      assert.deepEqual([...c.touchesBorder], touchesBorder, `${name}, bands of ${rows}`);
    }
  }
});

Deno.test("removing components of at most N pixels keeps what OpenCV's count > N keeps", async () => {
  for (const name of names) {
    const image = images.get(name)!;
    for (const [n, expected] of Object.entries(fixtures[name].keep)) {
      const { pixels, sha256: hash } = expected as { pixels: number; sha256: string };
      const inMemory = removeSmallComponents(image, Number(n));
      assert.equal(await sha256(inMemory), hash, `${name}, N = ${n}, in memory`);
      assert.equal(inMemory.reduce((a, b) => a + b, 0), pixels);
      for (const rows of HEIGHTS) {
        const out = await collect(
          postprocessBands(() => bands(image, rows), image.width, { maxSize: Number(n) }),
        );
        assert.equal(await sha256(out), hash, `${name}, N = ${n}, bands of ${rows}`);
      }
    }
  }
});

Deno.test("hole filling, and filling then removing, match the reference", async () => {
  for (const name of names) {
    const image = images.get(name)!;
    for (const [h, expected] of Object.entries(fixtures[name].fill)) {
      const { pixels, sha256: hash } = expected as { pixels: number; sha256: string };
      const inMemory = fillSmallHoles(image, Number(h));
      assert.equal(await sha256(inMemory), hash, `${name}, holes < ${h}`);
      assert.equal(inMemory.reduce((a, b) => a + b, 0), pixels);
    }
    for (const rows of HEIGHTS) {
      const options = { holeSize: 30, maxSize: 50 };
      const out = await collect(postprocessBands(() => bands(image, rows), image.width, options));
      assert.equal(await sha256(out), fixtures[name].fill30Keep50, `${name}, bands of ${rows}`);
    }
  }
});

Deno.test("a filter can run pass 2 again from row 0", () => {
  const image = images.get("blobs")!;
  const labeler = new ComponentLabeler(image.width);
  for (const band of bands(image, 64)) labeler.push(band);
  const c = labeler.finish();
  const filter = c.select((i) => c.sizes[i] > 200);
  const first = concat([...bands(image, 64)].map((b) => filter.filterBand(b)));
  const second = concat([...bands(image, 7)].map((b) => filter.filterBand(b)));
  assert.deepEqual(second, first);
  assert.deepEqual(first, removeSmallComponents(image, 200));
});

Deno.test("bands out of order, partial rows or other data are errors", () => {
  const labeler = new ComponentLabeler(3);
  assert.throws(
    () => labeler.push({ y0: 1, data: new Uint8Array(3) }),
    /band starts at row 1, expected row 0/,
  );
  assert.throws(() => labeler.push({ y0: 0, data: new Uint8Array(4) }), /not whole rows of 3/);
  const band = { y0: 0, data: new Uint8Array([1, 0, 1, 0, 0, 0]) };
  labeler.push(band);
  const filter = labeler.finish().select(() => true);
  assert.throws(
    () => filter.filterBand({ y0: 0, data: new Uint8Array([1, 0, 1, 0, 1, 0]) }),
    /differ from those of pass 1/,
  );
  assert.throws(
    () => filter.filterBand({ y0: 0, data: new Uint8Array(9) }),
    /ends after row 2/,
  );
  assert.deepEqual([...filter.filterBand(band)], [1, 0, 1, 0, 0, 0]);
});
