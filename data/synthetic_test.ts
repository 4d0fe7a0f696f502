import assert from "node:assert/strict";
import { UserError } from "./errors.ts";
import { syntheticFragment, type SyntheticOptions } from "./synthetic.ts";

/** Rows [y0, y1) x columns [x0, x1) of a (depth, height, width) array. */
function crop(
  data: Uint8Array | Uint16Array,
  shape: readonly [number, number, number],
  y0: number,
  y1: number,
  x0: number,
  x1: number,
): number[] {
  const [d, h, w] = shape;
  const out: number[] = [];
  for (let z = 0; z < d; z++) {
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) out.push(data[(z * h + y) * w + x]);
    }
  }
  return out;
}

function count(
  data: Uint8Array,
  pred: (v: number, i: number) => boolean,
): number {
  let n = 0;
  for (let i = 0; i < data.length; i++) if (pred(data[i], i)) n++;
  return n;
}

Deno.test("synthetic: metadata", () => {
  const f = syntheticFragment({ height: 40, width: 30, depth: 5, seed: 9 });
  assert.equal(f.volume.format, "synthetic");
  assert.equal(f.volume.path, "synthetic:40x30x5:seed=9");
  assert.deepEqual(f.volume.shape, [5, 40, 30]);
  assert.deepEqual(f.volume.layers, [0, 1, 2, 3, 4]);
  assert.equal(f.volume.dtype, "uint16");
  assert.deepEqual(f.inkLayers, [2]);
  assert.deepEqual(syntheticFragment({ height: 8, width: 8 }).inkLayers, [
    6,
    7,
    8,
    9,
  ]);
  assert.deepEqual(
    syntheticFragment({ height: 8, width: 8, depth: 16, inkLayers: [9, 3, 3] })
      .inkLayers,
    [3, 9],
  );
});

Deno.test("synthetic: same seed gives the same data, another seed other data", async () => {
  const opts = { height: 160, width: 200, seed: 3 };
  const a = syntheticFragment(opts), b = syntheticFragment(opts);
  const c = syntheticFragment({ ...opts, seed: 4 });
  const va = await a.volume.readRegion(0, 160, 0, 200);
  assert.deepEqual(va, await b.volume.readRegion(0, 160, 0, 200));
  assert.deepEqual(a.mask, b.mask);
  assert.deepEqual(a.labels, b.labels);
  const vc = await c.volume.readRegion(0, 160, 0, 200);
  assert.notDeepEqual(va, vc);
  assert.notDeepEqual(a.mask.data, c.mask.data);
  // Voxel by voxel, different seeds mostly differ.
  const same = count(new Uint8Array(va.length), (_, i) => va[i] === vc[i]);
  assert.ok(same < va.length * 0.6, `${same} of ${va.length} voxels equal`);
});

Deno.test("synthetic: any region equals the crop of the whole", async () => {
  const h = 203, w = 171;
  const f = syntheticFragment({
    height: h,
    width: w,
    depth: 6,
    seed: 11,
    letterHeight: 24,
  });
  const whole = await f.volume.readRegion(0, h, 0, w);
  const mask = f.mask.data, labels = f.labels.data;
  const regions: [number, number, number, number][] = [
    [0, h, 0, w],
    [0, 1, 0, w],
    [h - 1, h, w - 1, w],
    [50, 117, 33, 170],
    [100, 101, 20, 21],
    [7, 190, 90, 91],
    [0, 64, 0, 64],
    [64, 128, 64, 128],
    [30, 30, 10, 40], // empty
  ];
  for (const [y0, y1, x0, x1] of regions) {
    const part = await f.volume.readRegion(y0, y1, x0, x1);
    assert.equal(part.length, 6 * (y1 - y0) * (x1 - x0));
    assert.deepEqual(
      Array.from(part),
      crop(whole, [6, h, w], y0, y1, x0, x1),
      `${[y0, y1, x0, x1]}`,
    );
    assert.deepEqual(
      Array.from(f.readMaskRegion(y0, y1, x0, x1)),
      crop(mask, [1, h, w], y0, y1, x0, x1),
    );
    assert.deepEqual(
      Array.from(f.readLabelRegion(y0, y1, x0, x1)),
      crop(labels, [1, h, w], y0, y1, x0, x1),
    );
  }
  // An odd depth (the last layer is computed alone).
  const odd = syntheticFragment({ height: 50, width: 40, depth: 3, seed: 11 });
  const oddWhole = odd.volume.readRegionSync(0, 50, 0, 40);
  assert.deepEqual(
    Array.from(odd.volume.readRegionSync(13, 41, 7, 29)),
    crop(oddWhole, [3, 50, 40], 13, 41, 7, 29),
  );
  // Band by band, as a streaming reader would.
  const bands: number[] = [];
  for (let y = 0; y < h; y += 16) {
    const band = f.volume.readRegionSync(y, Math.min(h, y + 16), 0, w);
    bands.push(
      ...crop(
        band,
        [6, Math.min(h, y + 16) - y, w],
        0,
        Math.min(h, y + 16) - y,
        0,
        w,
      ),
    );
  }
  const byBands: number[] = [];
  for (let y = 0; y < h; y += 16) {
    byBands.push(...crop(whole, [6, h, w], y, Math.min(h, y + 16), 0, w));
  }
  assert.deepEqual(bands, byBands);
});

Deno.test("synthetic: voxels are 0 exactly outside the mask, in every layer", () => {
  const h = 300, w = 260, d = 16;
  const f = syntheticFragment({ height: h, width: w, seed: 5 });
  const vol = f.volume.readRegionSync(0, h, 0, w);
  const mask = f.mask.data;
  for (let z = 0; z < d; z++) {
    for (let i = 0; i < h * w; i++) {
      const v = vol[z * h * w + i];
      if (mask[i] === 0) assert.equal(v, 0, `z ${z} pixel ${i}`);
      else assert.ok(v >= 1, `z ${z} pixel ${i}`);
    }
  }
});

Deno.test("synthetic: mask and labels are 0/255 and labels lie inside the mask", () => {
  for (const seed of [1, 2, 3]) {
    const f = syntheticFragment({ height: 1024, width: 1024, seed });
    const m = f.mask.data, l = f.labels.data;
    assert.equal(f.mask.height, 1024);
    assert.equal(f.labels.width, 1024);
    assert.equal(count(m, (v) => v !== 0 && v !== 255), 0);
    assert.equal(count(l, (v) => v !== 0 && v !== 255), 0);
    assert.equal(count(l, (v, i) => v === 255 && m[i] === 0), 0);
    const papyrus = count(m, (v) => v === 255),
      ink = count(l, (v) => v === 255);
    const maskFraction = papyrus / m.length, inkFraction = ink / papyrus;
    assert.ok(
      maskFraction > 0.5 && maskFraction < 0.7,
      `seed ${seed}: mask ${maskFraction}`,
    );
    assert.ok(
      inkFraction > 0.1 && inkFraction < 0.2,
      `seed ${seed}: ink ${inkFraction}`,
    );
    // The outline stays off the image's edges.
    assert.equal(count(m.subarray(0, 1024), (v) => v !== 0), 0);
  }
  // The getters compute once.
  const f = syntheticFragment({ height: 20, width: 20 });
  assert.equal(f.mask, f.mask);
  assert.equal(f.labels, f.labels);
});

Deno.test("synthetic: ink changes only the ink layers", () => {
  const h = 768, w = 768, d = 16, plane = h * w;
  const opts: SyntheticOptions = { height: h, width: w, seed: 2 };
  const f = syntheticFragment(opts);
  const blank = syntheticFragment({ ...opts, inkContrast: 0 });
  const vol = f.volume.readRegionSync(0, h, 0, w);
  const bare = blank.volume.readRegionSync(0, h, 0, w);
  const mask = f.mask.data, labels = f.labels.data;
  assert.deepEqual(blank.labels, f.labels);
  const expected = 0.08 * 45000; // inkContrast x span
  for (let z = 0; z < d; z++) {
    const inkLayer = f.inkLayers.includes(z);
    // Exactly: without ink contrast, the other layers are unchanged.
    let changed = 0;
    for (let i = 0; i < plane; i++) {
      if (vol[z * plane + i] !== bare[z * plane + i]) changed++;
    }
    if (!inkLayer) assert.equal(changed, 0, `layer ${z}`);
    else assert.ok(changed > plane * 0.05, `layer ${z}: ${changed}`);
    // Statistically: ink pixels are brighter than other papyrus only there.
    let si = 0, ni = 0, so = 0, no = 0;
    for (let i = 0; i < plane; i++) {
      if (mask[i] === 0) continue;
      const v = vol[z * plane + i];
      if (labels[i] !== 0) {
        si += v;
        ni++;
      } else {
        so += v;
        no++;
      }
    }
    const diff = si / ni - so / no;
    if (inkLayer) assert.ok(diff > 0.5 * expected, `layer ${z}: ${diff}`);
    else assert.ok(Math.abs(diff) < 0.2 * expected, `layer ${z}: ${diff}`);
  }
});

Deno.test("synthetic: uint16 values spread over a realistic range", () => {
  const f = syntheticFragment({ height: 400, width: 400, seed: 8 });
  const vol = f.volume.readRegionSync(0, 400, 0, 400);
  const mask = f.mask.data, plane = 400 * 400;
  const middle: number[] = [];
  for (let i = 0; i < plane; i++) if (mask[i]) middle.push(vol[8 * plane + i]);
  middle.sort((a, b) => a - b);
  const q = (p: number) => middle[Math.floor(p * (middle.length - 1))];
  assert.ok(q(0.05) > 10000 && q(0.95) < 60000, `${q(0.05)}..${q(0.95)}`);
  assert.ok(q(0.95) - q(0.05) > 5000, `${q(0.05)}..${q(0.95)}`);
  // Outer layers are dimmer than the middle ones.
  let top = 0, mid = 0;
  for (let i = 0; i < plane; i++) {
    if (mask[i]) {
      top += vol[i];
      mid += vol[8 * plane + i];
    }
  }
  assert.ok(top < mid * 0.8);
});

Deno.test("synthetic: uint8 is the uint16 volume scaled", () => {
  const opts: SyntheticOptions = { height: 120, width: 150, depth: 4, seed: 6 };
  const v16 = syntheticFragment(opts).volume.readRegionSync(10, 110, 20, 140);
  const f8 = syntheticFragment({ ...opts, dtype: "uint8" });
  assert.equal(f8.volume.dtype, "uint8");
  const v8 = f8.volume.readRegionSync(10, 110, 20, 140);
  assert.ok(v8 instanceof Uint8Array);
  assert.ok(v16 instanceof Uint16Array);
  assert.equal(v8.length, v16.length);
  for (let i = 0; i < v8.length; i++) {
    if (v16[i] === 0) assert.equal(v8[i], 0);
    else {
      assert.ok(v8[i] >= 1);
      assert.ok(
        Math.abs(v8[i] - (v16[i] * 255) / 65535) <= 1.01,
        `${v8[i]} vs ${v16[i]}`,
      );
    }
  }
});

Deno.test("synthetic: huge fragments are lazy", async () => {
  const f = syntheticFragment({ height: 30000, width: 12000, seed: 2 });
  const band = await f.volume.readRegion(15000, 15016, 5000, 5100);
  assert.equal(band.length, 16 * 16 * 100);
  assert.equal(f.readMaskRegion(15000, 15016, 5000, 5100).length, 1600);
  assert.equal(f.readLabelRegion(29990, 30000, 11900, 12000).length, 1000);
  await f.volume.close();
});

Deno.test("synthetic: tiny fragments work", () => {
  const f = syntheticFragment({ height: 1, width: 1, depth: 1 });
  assert.equal(f.volume.readRegionSync(0, 1, 0, 1).length, 1);
  assert.equal(f.mask.data.length, 1);
});

Deno.test("synthetic: invalid options are user errors", () => {
  const bad: unknown[] = [
    { height: 0, width: 10 },
    { height: -4, width: 10 },
    { height: 10.5, width: 10 },
    { height: NaN, width: 10 },
    { height: "10", width: 10 },
    { height: 10 },
    { height: 10, width: 1e9 },
    { height: 10, width: 10, depth: 0 },
    { height: 10, width: 10, seed: 1.5 },
    { height: 10, width: 10, inkLayers: [16] },
    { height: 10, width: 10, depth: 4, inkLayers: [-1] },
    { height: 10, width: 10, inkLayers: [1.5] },
    { height: 10, width: 10, inkLayers: 3 },
    { height: 10, width: 10, inkContrast: -0.1 },
    { height: 10, width: 10, noise: Infinity },
    { height: 10, width: 10, dtype: "float32" },
    { height: 10, width: 10, letterHeight: 2 },
    null,
  ];
  for (const opts of bad) {
    assert.throws(
      () => syntheticFragment(opts as SyntheticOptions),
      UserError,
      JSON.stringify(opts),
    );
  }
});

Deno.test("synthetic: regions past the edge are errors", async () => {
  const f = syntheticFragment({ height: 20, width: 30 });
  await assert.rejects(() => f.volume.readRegion(0, 21, 0, 30), RangeError);
  await assert.rejects(() => f.volume.readRegion(5, 4, 0, 30), RangeError);
  assert.throws(() => f.volume.readRegionSync(0, 20, -1, 30), RangeError);
  assert.throws(() => f.readMaskRegion(0, 20, 0, 31), RangeError);
  assert.throws(() => f.readLabelRegion(0.5, 20, 0, 30), RangeError);
});
