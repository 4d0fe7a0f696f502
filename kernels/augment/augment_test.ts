// The fused GPU augmentation against the step-by-step float64 reference
// (ref.ts), transform by transform and all together, with hand-built
// parameters (the seed's sampler lives in train/augment.ts and has its own
// tests). Images compare with atol 1e-5 (float32 arithmetic and float32
// matrix coefficients); labels exactly, except that shift-scale-rotate may
// flip a label pixel whose source coordinate lies within float32 rounding of
// a half pixel (at most 2 are allowed; none occur with these seeds).

import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import {
  type AugmentParams,
  gaussianKernel,
  identityParams,
  motionKernel,
  recordAugment,
  shiftScaleRotateMatrix,
} from "./mod.ts";
import { augmentRef } from "./ref.ts";

/** mulberry32: a tiny seeded generator for test data. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Batch {
  batch: number;
  depth: number;
  labels: number;
  size: number;
  tiles: Float32Array;
  labelData: Float32Array;
}

/** Random tiles in [0, 1] and labels: binary (classes = 2) or a class map 0..classes-1. */
function makeBatch(
  seed: number,
  batch: number,
  depth: number,
  size: number,
  opts: { labels?: number; classes?: number } = {},
): Batch {
  const r = prng(seed);
  const labels = opts.labels ?? 1;
  const classes = opts.classes ?? 2;
  const tiles = new Float32Array(batch * depth * size * size).map(() => r());
  const labelData = new Float32Array(batch * labels * size * size).map(() =>
    Math.floor(r() * classes)
  );
  return { batch, depth, labels, size, tiles, labelData };
}

/** Runs the GPU augmentation; checks the inputs were not modified. */
async function runGpu(
  b: Batch,
  params: readonly AugmentParams[],
): Promise<{ tiles: Float32Array; labels: Float32Array }> {
  const gpu = await getGpu();
  const t = uploadTensor(gpu, [b.batch, 1, b.depth, b.size, b.size], "f32", b.tiles);
  const l = uploadTensor(gpu, [b.batch, b.labels, b.size, b.size], "f32", b.labelData);
  const rec = gpu.kernels.recorder();
  const out = recordAugment(gpu, rec, t, l, params);
  rec.submit();
  assert.deepEqual(out.tiles.shape, t.shape);
  assert.deepEqual(out.labels.shape, l.shape);
  const tiles = await downloadTensor(out.tiles) as Float32Array;
  const labels = await downloadTensor(out.labels) as Float32Array;
  assert.deepEqual(await downloadTensor(t), b.tiles, "input tiles were modified");
  assert.deepEqual(await downloadTensor(l), b.labelData, "input labels were modified");
  for (const x of [t, l, out.tiles, out.labels]) x.release();
  return { tiles, labels };
}

function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** GPU vs reference; returns the image's max abs error. */
async function check(b: Batch, params: readonly AugmentParams[], what: string): Promise<number> {
  const got = await runGpu(b, params);
  const want = augmentRef(b.tiles, b.labelData, b, params);
  const c = assertClose(got.tiles, want.tiles, { atol: 1e-5, rtol: 1e-5 }, `${what}: tiles`);
  const bad = mismatches(got.labels, want.labels);
  const allowed = params.some((p) => p.shiftScaleRotate) ? 2 : 0;
  assert.ok(bad <= allowed, `${what}: ${bad} label pixels differ from the reference`);
  return c.maxAbsError;
}

function ssr(angle: number, scale: number, dx: number, dy: number, size: number) {
  return { angle, scale, dx, dy, matrix: shiftScaleRotateMatrix(angle, scale, dx, dy, size) };
}

function steps(r: () => number): number[] {
  return Array.from({ length: 6 }, () => 1 + (r() * 2 - 1) * 0.3);
}

const P = identityParams;

Deno.test("augment: identity params copy tiles and labels exactly", async () => {
  const b = makeBatch(1, 2, 4, 32, { classes: 3 });
  const got = await runGpu(b, [P(), P()]);
  assert.deepEqual(got.tiles, b.tiles);
  assert.deepEqual(got.labels, b.labelData);
});

Deno.test("augment: flips and rot90 are exact and match the reference", async () => {
  const b = makeBatch(2, 4, 4, 32, { labels: 2, classes: 3 });
  for (const k of [0, 1, 2, 3]) {
    const params = [
      { ...P(), rot90: k },
      { ...P(), rot90: k, hflip: true },
      { ...P(), rot90: k, vflip: true },
      { ...P(), rot90: k, hflip: true, vflip: true },
    ];
    const got = await runGpu(b, params);
    const want = augmentRef(b.tiles, b.labelData, b, params);
    assertClose(got.tiles, want.tiles, { atol: 0, rtol: 0 }, `rot90 k=${k} tiles`);
    assert.equal(mismatches(got.labels, want.labels), 0, `rot90 k=${k} labels`);
  }
});

Deno.test("augment: brightness/contrast (clipped) and channel dropout", async () => {
  const b = makeBatch(3, 4, 6, 32);
  const errs = await check(b, [
    { ...P(), brightnessContrast: { alpha: 1.2, beta: 0.2 } },
    { ...P(), brightnessContrast: { alpha: 0.8, beta: -0.2 } },
    { ...P(), channelDropout: [3] },
    { ...P(), channelDropout: [5, 0], brightnessContrast: { alpha: 1.1, beta: 0.05 } },
  ], "brightness/contrast + dropout");
  console.log(`brightness/contrast + dropout: max abs error ${errs.toExponential(2)}`);
});

Deno.test("augment: shift-scale-rotate (bilinear image, nearest label, reflect-101)", async () => {
  const b = makeBatch(4, 4, 4, 40, { classes: 3 });
  const t = b.size;
  const err = await check(b, [
    { ...P(), shiftScaleRotate: ssr(45, 0.9, 0.0625, -0.0625, t) },
    { ...P(), shiftScaleRotate: ssr(-37.3, 1.1, -0.05, 0.01, t) },
    { ...P(), shiftScaleRotate: ssr(0, 1, 0.031, 0.017, t), rot90: 1, hflip: true },
    {
      ...P(),
      shiftScaleRotate: ssr(12, 0.95, 0, 0.04, t),
      brightnessContrast: { alpha: 1.2, beta: 0.15 },
      channelDropout: [1],
      vflip: true,
      rot90: 3,
    },
  ], "shift-scale-rotate");
  console.log(`shift-scale-rotate: max abs error ${err.toExponential(2)}`);
});

Deno.test("augment: Gaussian noise, Gaussian blur and motion blur (image only, clipped)", async () => {
  const b = makeBatch(5, 4, 4, 32, { classes: 3 });
  const err = await check(b, [
    { ...P(), noiseBlur: { kind: "gaussNoise", variance: 50, seed: 123456789 } },
    { ...P(), noiseBlur: { kind: "gaussianBlur", ksize: 7, kernel: gaussianKernel(7) } },
    {
      ...P(),
      noiseBlur: {
        kind: "motionBlur",
        ksize: 5,
        line: [0, 1, 4, 3],
        kernel: motionKernel(5, 0, 1, 4, 3),
      },
    },
    { ...P(), noiseBlur: { kind: "gaussianBlur", ksize: 3, kernel: gaussianKernel(3) } },
  ], "noise/blur");
  console.log(`noise/blur: max abs error ${err.toExponential(2)}`);
});

Deno.test("augment: grid distortion and coarse dropout, T = 40 (a multiple of 5) and 33", async () => {
  for (const size of [40, 33]) {
    const r = prng(size);
    const b = makeBatch(6, 3, 4, size, { classes: 3 });
    const hole = Math.trunc(size * 0.05);
    const err = await check(b, [
      { ...P(), gridDistortion: { stepsX: steps(r), stepsY: steps(r) } },
      { ...P(), coarseDropout: { x: size - hole, y: 0, width: hole, height: hole } },
      {
        ...P(),
        gridDistortion: { stepsX: steps(r), stepsY: steps(r) },
        coarseDropout: { x: 5, y: 7, width: 4, height: 4 },
      },
    ], `grid/hole T=${size}`);
    console.log(`grid/hole T=${size}: max abs error ${err.toExponential(2)}`);
  }
});

/** Every transform on every tile, each tile a different OneOf choice. */
function allParams(size: number, depth: number, seed: number): AugmentParams[] {
  const r = prng(seed);
  const kinds = ["gaussNoise", "gaussianBlur", "motionBlur", "gaussianBlur"] as const;
  return kinds.map((kind, i) => {
    const ks = [3, 5, 7][i % 3];
    const nb: AugmentParams["noiseBlur"] = kind === "gaussNoise"
      ? { kind, variance: 10 + 40 * r(), seed: Math.floor(r() * 2 ** 32) }
      : kind === "gaussianBlur"
      ? { kind, ksize: ks, kernel: gaussianKernel(ks) }
      : { kind, ksize: 7, line: [6, 0, 1, 6], kernel: motionKernel(7, 6, 0, 1, 6) };
    const hole = Math.max(1, Math.trunc(size * 0.05));
    return {
      hflip: i % 2 === 0,
      vflip: i >= 2,
      rot90: (i + 1) % 4,
      brightnessContrast: { alpha: 0.8 + 0.4 * r(), beta: -0.2 + 0.4 * r() },
      channelDropout: i % 2 === 0 ? [i % depth] : [depth - 1, 1],
      shiftScaleRotate: ssr(-45 + 90 * r(), 0.9 + 0.2 * r(), 0.06 * r(), -0.06 * r(), size),
      noiseBlur: nb,
      gridDistortion: { stepsX: steps(r), stepsY: steps(r) },
      coarseDropout: {
        x: Math.floor(r() * (size - hole)),
        y: Math.floor(r() * (size - hole)),
        width: hole,
        height: hole,
      },
    };
  });
}

Deno.test("augment: all transforms together, per-tile params, binary and class-map labels", async () => {
  for (const [size, depth, classes] of [[48, 8, 2], [32, 16, 3]]) {
    const b = makeBatch(7 + size, 4, depth, size, { classes });
    const err = await check(b, allParams(size, depth, size), `all T=${size} D=${depth}`);
    console.log(`all T=${size} D=${depth}: max abs error ${err.toExponential(2)}`);
  }
});

Deno.test("augment: batches larger than one binding run in windows of whole tiles", async () => {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  const size = 32;
  const depth = 4;
  // Room for one tile (and the 256-byte alignment slack) per binding.
  gpu.maxBinding = depth * size * size * 4 + 512;
  try {
    const b = makeBatch(8, 4, depth, size, { classes: 3 });
    await check(b, allParams(size, depth, 99), "windowed");
    gpu.maxBinding = 1024;
    assert.throws(() => {
      const t = uploadTensor(
        gpu,
        [1, 1, depth, size, size],
        "f32",
        b.tiles.subarray(0, depth * size * size),
      );
      const l = uploadTensor(gpu, [1, 1, size, size], "f32", b.labelData.subarray(0, size * size));
      try {
        recordAugment(gpu, gpu.kernels.recorder(), t, l, [P()]);
      } finally {
        t.release();
        l.release();
      }
    }, /exceeds the binding limit/);
  } finally {
    gpu.maxBinding = saved;
  }
});

Deno.test("augment: Gaussian noise has the seed's sigma, zero mean and independent slices", async () => {
  const size = 64;
  const depth = 4;
  const b: Batch = {
    batch: 2,
    depth,
    labels: 1,
    size,
    tiles: new Float32Array(2 * depth * size * size).fill(0.5),
    labelData: new Float32Array(2 * size * size),
  };
  const variance = 50;
  const got = await runGpu(b, [
    { ...P(), noiseBlur: { kind: "gaussNoise", variance, seed: 1 } },
    { ...P(), noiseBlur: { kind: "gaussNoise", variance, seed: 2 } },
  ]);
  const sigma = Math.sqrt(variance) / 255;
  const n = depth * size * size;
  const z = Array.from(got.tiles, (v) => (v - 0.5) / sigma);
  const mean = z.slice(0, n).reduce((a, v) => a + v, 0) / n;
  const sd = Math.sqrt(z.slice(0, n).reduce((a, v) => a + v * v, 0) / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.05, `noise mean ${mean} sigma`);
  assert.ok(Math.abs(sd - 1) < 0.03, `noise sd ${sd} sigma`);
  const plane = size * size;
  const corr = (a: number, c: number) => {
    let s = 0;
    for (let i = 0; i < plane; i++) s += z[a + i] * z[c + i];
    return s / plane;
  };
  assert.ok(Math.abs(corr(0, plane)) < 0.06, "slices 0 and 1 are correlated");
  assert.ok(Math.abs(corr(0, n)) < 0.06, "tiles with different seeds are correlated");
});

Deno.test("augment: shape and params errors name the problem", async () => {
  const gpu = await getGpu();
  const t = uploadTensor(gpu, [2, 1, 4, 8, 8], "f32", new Float32Array(2 * 4 * 64));
  const l = uploadTensor(gpu, [2, 1, 8, 8], "f32", new Float32Array(2 * 64));
  const bad = uploadTensor(gpu, [2, 4, 8, 8], "f32", new Float32Array(2 * 4 * 64));
  const badLabels = uploadTensor(gpu, [2, 1, 4, 16], "f32", new Float32Array(2 * 64));
  const rec = gpu.kernels.recorder();
  try {
    assert.throws(() => recordAugment(gpu, rec, bad, l, [P(), P()]), /\(B, 1, D, T, T\)/);
    assert.throws(() => recordAugment(gpu, rec, t, badLabels, [P(), P()]), /labels must be/);
    assert.throws(() => recordAugment(gpu, rec, t, l, [P()]), /1 params records for a batch of 2/);
    assert.throws(
      () => recordAugment(gpu, rec, t, l, [P(), { ...P(), channelDropout: [4] }]),
      /tile 1: dropped slice 4/,
    );
    assert.throws(
      () =>
        recordAugment(gpu, rec, t, l, [P(), {
          ...P(),
          coarseDropout: { x: 6, y: 0, width: 3, height: 3 },
        }]),
      /does not fit/,
    );
  } finally {
    for (const x of [t, l, bad, badLabels]) x.release();
  }
});
