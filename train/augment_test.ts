// The seed's augmentation sampler (frequencies, ranges, determinism) and the
// GPU augmentation driven by it: equal to the step-by-step reference for
// each transform alone and all together, deterministic for a seed, and
// geometry that moves image and label together.

import assert from "node:assert/strict";
import { getGpu } from "../kernels/device.ts";
import { assertClose } from "../kernels/compare.ts";
import { downloadTensor, uploadTensor } from "../kernels/tensor.ts";
import { augmentRef } from "../kernels/augment/ref.ts";
import { gaussianKernel, shiftScaleRotateMatrix } from "../kernels/augment/params.ts";
import {
  type AugmentConfig,
  type AugmentParams,
  NO_AUGMENT,
  recordAugment,
  sampleAugment,
  sampleAugmentBatch,
  SEED_AUGMENT,
} from "./augment.ts";
import { Rng } from "./rng.ts";

const NAMES = Object.keys(SEED_AUGMENT) as (keyof AugmentConfig)[];

function only(name: keyof AugmentConfig): AugmentConfig {
  return { ...NO_AUGMENT, [name]: 1 };
}
const ALL: AugmentConfig = Object.fromEntries(NAMES.map((n) => [n, 1])) as unknown as AugmentConfig;

/** Asserts `count` of `n` draws is within 3 sigma of probability `p`. */
function assertFrequency(count: number, n: number, p: number, what: string): void {
  const sigma = Math.sqrt(n * p * (1 - p));
  assert.ok(
    Math.abs(count - n * p) <= 3 * sigma,
    `${what}: ${count} of ${n}, expected ${n * p} +- ${(3 * sigma).toFixed(1)}`,
  );
}

Deno.test("SEED_AUGMENT holds the seed's probabilities; NO_AUGMENT is all zero", () => {
  assert.deepEqual({ ...SEED_AUGMENT }, {
    hflip: 0.5,
    vflip: 0.5,
    rot90: 0.5,
    brightnessContrast: 0.25,
    channelDropout: 0.25,
    shiftScaleRotate: 0.25,
    noiseBlur: 0.25,
    gridDistortion: 0.25,
    coarseDropout: 0.25,
  });
  for (const n of NAMES) assert.equal(NO_AUGMENT[n], 0);
  const p = sampleAugment(new Rng(1), NO_AUGMENT, 64, 16);
  assert.deepEqual(p, {
    hflip: false,
    vflip: false,
    rot90: 0,
    brightnessContrast: null,
    channelDropout: [],
    shiftScaleRotate: null,
    noiseBlur: null,
    gridDistortion: null,
    coarseDropout: null,
  });
});

Deno.test("sampleAugment frequencies over 2000 draws are within 3 sigma; OneOf is uniform", () => {
  const n = 2000;
  const rng = new Rng(2024);
  const draws = Array.from({ length: n }, () => sampleAugment(rng, SEED_AUGMENT, 64, 16));
  const count = (f: (p: AugmentParams) => boolean) => draws.filter(f).length;
  assertFrequency(count((p) => p.hflip), n, 0.5, "hflip");
  assertFrequency(count((p) => p.vflip), n, 0.5, "vflip");
  // RandomRotate90 fires with p 0.5 and then draws k in 0..3, so k = j != 0 has p 1/8.
  for (const k of [1, 2, 3]) assertFrequency(count((p) => p.rot90 === k), n, 0.125, `rot90 k=${k}`);
  assertFrequency(count((p) => p.brightnessContrast !== null), n, 0.25, "brightness/contrast");
  assertFrequency(count((p) => p.channelDropout.length > 0), n, 0.25, "channel dropout");
  assertFrequency(count((p) => p.shiftScaleRotate !== null), n, 0.25, "shift-scale-rotate");
  assertFrequency(count((p) => p.noiseBlur !== null), n, 0.25, "noise/blur");
  assertFrequency(count((p) => p.gridDistortion !== null), n, 0.25, "grid distortion");
  assertFrequency(count((p) => p.coarseDropout !== null), n, 0.25, "coarse dropout");

  // The OneOf choice, given that it fired: uniform over its three members.
  const fired = draws.filter((p) => p.noiseBlur !== null);
  for (const kind of ["gaussNoise", "gaussianBlur", "motionBlur"]) {
    const c = fired.filter((p) => p.noiseBlur!.kind === kind).length;
    assertFrequency(c, fired.length, 1 / 3, `OneOf ${kind}`);
  }
  // Channel dropout: one or two slices, equally likely.
  const dropped = draws.filter((p) => p.channelDropout.length > 0);
  assertFrequency(
    dropped.filter((p) => p.channelDropout.length === 1).length,
    dropped.length,
    0.5,
    "1 slice",
  );

  // Independence of two transforms: both flips together with p 1/4.
  assertFrequency(count((p) => p.hflip && p.vflip), n, 0.25, "hflip and vflip");
});

Deno.test("sampleAugment draws in the seed's ranges", () => {
  const rng = new Rng(7);
  const tile = 64;
  const depth = 16;
  const gaussSizes = new Map<number, number>();
  const motionSizes = new Map<number, number>();
  let blurs = 0;
  for (let i = 0; i < 3000; i++) {
    const p = sampleAugment(rng, ALL, tile, depth);
    assert.ok(p.hflip && p.vflip && p.rot90 >= 0 && p.rot90 <= 3);
    const { alpha, beta } = p.brightnessContrast!;
    assert.ok(alpha >= 0.8 && alpha < 1.2 && beta >= -0.2 && beta < 0.2);
    const d = p.channelDropout;
    assert.ok(d.length === 1 || d.length === 2);
    assert.ok(
      d.every((s) => Number.isInteger(s) && s >= 0 && s < depth) && new Set(d).size === d.length,
    );
    const s = p.shiftScaleRotate!;
    assert.ok(Math.abs(s.angle) <= 45 && s.scale >= 0.9 && s.scale < 1.1);
    assert.ok(Math.abs(s.dx) <= 0.0625 && Math.abs(s.dy) <= 0.0625);
    assert.deepEqual(s.matrix, shiftScaleRotateMatrix(s.angle, s.scale, s.dx, s.dy, tile));
    const nb = p.noiseBlur!;
    if (nb.kind === "gaussNoise") {
      assert.ok(nb.variance >= 10 && nb.variance < 50);
      assert.ok(Number.isInteger(nb.seed) && nb.seed >= 0 && nb.seed < 2 ** 32);
    } else if (nb.kind === "gaussianBlur") {
      gaussSizes.set(nb.ksize, (gaussSizes.get(nb.ksize) ?? 0) + 1);
      assert.deepEqual(nb.kernel, gaussianKernel(nb.ksize));
      blurs++;
    } else {
      motionSizes.set(nb.ksize, (motionSizes.get(nb.ksize) ?? 0) + 1);
      const [x1, y1, x2, y2] = nb.line;
      assert.ok([x1, y1, x2, y2].every((v) => v >= 0 && v < nb.ksize));
      assert.ok(x1 !== x2 || y1 !== y2, "a motion line of one point");
      assert.ok(Math.abs(nb.kernel.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    }
    const g = p.gridDistortion!;
    for (const v of [...g.stepsX, ...g.stepsY]) assert.ok(v >= 0.7 && v < 1.3);
    assert.equal(g.stepsX.length, 6);
    const h = p.coarseDropout!;
    assert.equal(h.width, 3); // int(0.05 * 64)
    assert.equal(h.height, 3);
    assert.ok(h.x >= 0 && h.y >= 0 && h.x + 3 <= tile && h.y + 3 <= tile);
  }
  // GaussianBlur: randrange(3, 8) with even sizes bumped: 3 (1/5), 5 (2/5), 7 (2/5).
  assertFrequency(gaussSizes.get(3) ?? 0, blurs, 0.2, "gaussian ksize 3");
  assertFrequency(gaussSizes.get(5) ?? 0, blurs, 0.4, "gaussian ksize 5");
  assert.deepEqual([...gaussSizes.keys()].sort(), [3, 5, 7]);
  assert.deepEqual([...motionSizes.keys()].sort(), [3, 5, 7]);
  // Hole sizes at the seed's tile sizes.
  assert.equal(sampleAugment(new Rng(1), ALL, 1024, 16).coarseDropout!.width, 51);
  assert.equal(sampleAugment(new Rng(1), ALL, 512, 16).coarseDropout!.width, 25);
  assert.throws(() => sampleAugment(new Rng(1), ALL, 64, 2), /depth > 2/);
});

Deno.test("sampleAugment is deterministic for a seed and resumes from Rng state", () => {
  const a = sampleAugmentBatch(new Rng(42), SEED_AUGMENT, 50, 64, 16);
  const b = sampleAugmentBatch(new Rng(42), SEED_AUGMENT, 50, 64, 16);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, sampleAugmentBatch(new Rng(43), SEED_AUGMENT, 50, 64, 16));
  const r = new Rng(42);
  sampleAugmentBatch(r, SEED_AUGMENT, 20, 64, 16);
  const resumed = sampleAugmentBatch(Rng.fromState(r.state()), SEED_AUGMENT, 30, 64, 16);
  assert.deepEqual(resumed, a.slice(20));
});

// ---- GPU ----

function randomBatch(seed: number, b: number, d: number, t: number) {
  const r = new Rng(seed);
  return {
    batch: b,
    depth: d,
    labels: 1,
    size: t,
    tiles: Float32Array.from({ length: b * d * t * t }, () => r.next()),
    labelData: Float32Array.from({ length: b * t * t }, () => r.int(3)),
  };
}

async function gpuAugment(
  tiles: Float32Array,
  labels: Float32Array,
  shape: { batch: number; depth: number; labels: number; size: number },
  params: readonly AugmentParams[],
): Promise<{ tiles: Float32Array; labels: Float32Array }> {
  const gpu = await getGpu();
  const { batch, depth, size } = shape;
  const t = uploadTensor(gpu, [batch, 1, depth, size, size], "f32", tiles);
  const l = uploadTensor(gpu, [batch, shape.labels, size, size], "f32", labels);
  const rec = gpu.kernels.recorder();
  const out = recordAugment(gpu, rec, t, l, params);
  rec.submit();
  const res = {
    tiles: await downloadTensor(out.tiles) as Float32Array,
    labels: await downloadTensor(out.labels) as Float32Array,
  };
  for (const x of [t, l, out.tiles, out.labels]) x.release();
  return res;
}

function labelMismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

Deno.test("GPU augmentation equals the reference for each sampled transform alone and all together", async () => {
  const [B, D, T] = [4, 8, 48];
  const data = randomBatch(1, B, D, T);
  const cases: [string, AugmentConfig, number][] = [
    ...NAMES.map((n) => [n, only(n), 10] as [string, AugmentConfig, number]),
    ["all", ALL, 11],
    ["all", ALL, 12],
    ["seed", SEED_AUGMENT, 13],
  ];
  const worst: string[] = [];
  for (const [name, config, seed] of cases) {
    const params = sampleAugmentBatch(new Rng(seed), config, B, T, D);
    const got = await gpuAugment(data.tiles, data.labelData, data, params);
    const want = augmentRef(data.tiles, data.labelData, data, params);
    const c = assertClose(got.tiles, want.tiles, { atol: 1e-5, rtol: 1e-5 }, `${name}: tiles`);
    const bad = labelMismatches(got.labels, want.labels);
    assert.ok(
      bad <= (params.some((p) => p.shiftScaleRotate) ? 2 : 0),
      `${name}: ${bad} labels differ`,
    );
    worst.push(`${name} ${c.maxAbsError.toExponential(1)}`);
  }
  console.log(`max abs error vs reference: ${worst.join(", ")}`);
});

Deno.test("GPU augmentation is deterministic: same seed, identical params and output", async () => {
  const [B, D, T] = [3, 4, 32];
  const data = randomBatch(2, B, D, T);
  const run = async (seed: number) => {
    const params = sampleAugmentBatch(new Rng(seed), ALL, B, T, D);
    return { params, ...await gpuAugment(data.tiles, data.labelData, data, params) };
  };
  const a = await run(5);
  const b = await run(5);
  assert.deepEqual(a.params, b.params);
  assert.deepEqual(a.tiles, b.tiles);
  assert.deepEqual(a.labels, b.labels);
  const c = await run(6);
  assert.notDeepEqual(a.tiles, c.tiles);
});

const GEOMETRY: AugmentConfig = {
  ...NO_AUGMENT,
  hflip: 0.5,
  vflip: 0.5,
  rot90: 1,
  shiftScaleRotate: 1,
  gridDistortion: 1,
};

Deno.test("geometry: an image encoding its own coordinates stays aligned with its label", async () => {
  // Image slices 0/2 hold x / T, slices 1/3 y / T; the two label channels hold x and y.
  // After any geometric chain the image holds (bilinearly) the source point and the label
  // its nearest source pixel.
  const [B, D, T] = [4, 4, 40];
  const plane = T * T;
  const tiles = new Float32Array(B * D * plane);
  const labels = new Float32Array(B * 2 * plane);
  for (let b = 0; b < B; b++) {
    for (let y = 0; y < T; y++) {
      for (let x = 0; x < T; x++) {
        const e = y * T + x;
        for (let d = 0; d < D; d++) tiles[(b * D + d) * plane + e] = (d % 2 === 0 ? x : y) / T;
        labels[(b * 2) * plane + e] = x;
        labels[(b * 2 + 1) * plane + e] = y;
      }
    }
  }
  const shape = { batch: B, depth: D, labels: 2, size: T };
  const cases: [string, AugmentConfig, number][] = [
    ["flips + rot90", { ...NO_AUGMENT, hflip: 0.5, vflip: 0.5, rot90: 1 }, 1e-4],
    ["shift-scale-rotate", { ...GEOMETRY, gridDistortion: 0 }, 0.5 + 1e-3],
    ["grid distortion", { ...GEOMETRY, shiftScaleRotate: 0 }, 0.5 + 1e-3],
    ["all geometric", GEOMETRY, 1.5],
  ];
  for (const [name, config, tol] of cases) {
    for (const seed of [1, 2]) {
      const params = sampleAugmentBatch(new Rng(seed), config, B, T, D);
      const got = await gpuAugment(tiles, labels, shape, params);
      let worst = 0;
      for (let b = 0; b < B; b++) {
        for (let e = 0; e < plane; e++) {
          for (const axis of [0, 1]) {
            const img = got.tiles[(b * D + axis) * plane + e] * T;
            const img2 = got.tiles[(b * D + axis + 2) * plane + e] * T;
            const lab = got.labels[(b * 2 + axis) * plane + e];
            assert.equal(img, img2, `${name}: slices differ`);
            worst = Math.max(worst, Math.abs(img - lab));
          }
        }
      }
      assert.ok(worst <= tol, `${name} seed ${seed}: image and label disagree by ${worst} px`);
      console.log(`${name} seed ${seed}: worst image-label disagreement ${worst.toFixed(4)} px`);
    }
  }
});

Deno.test("geometry: label == (image > 0.5) after augmentation, away from the threshold", async () => {
  // A smooth field (gradient under 0.05 per pixel), identical in every slice; the label is
  // its threshold. Nearest and bilinear sampling pick points under 1.5 px apart, so pixels
  // whose augmented value is more than 0.1 from the threshold must keep label == image > 0.5;
  // flips and rot90 alone keep it everywhere.
  const [B, D, T] = [4, 4, 48];
  const plane = T * T;
  const field = new Float32Array(plane);
  for (let y = 0; y < T; y++) {
    for (let x = 0; x < T; x++) {
      field[y * T + x] = 0.5 + 0.22 * Math.sin((2 * Math.PI * x) / T + 0.7) *
          Math.cos((2 * Math.PI * y) / T - 0.3) +
        0.2 * Math.sin((2 * Math.PI * (x + 2 * y)) / (2 * T));
    }
  }
  const tiles = new Float32Array(B * D * plane);
  const labels = new Float32Array(B * plane);
  for (let b = 0; b < B; b++) {
    for (let d = 0; d < D; d++) tiles.set(field, (b * D + d) * plane);
    labels.set(field.map((v) => (v > 0.5 ? 1 : 0)), b * plane);
  }
  const shape = { batch: B, depth: D, labels: 1, size: T };
  for (
    const [config, band] of [
      [{ ...NO_AUGMENT, hflip: 0.5, vflip: 0.5, rot90: 1 }, 0],
      [GEOMETRY, 0.1],
      [{ ...GEOMETRY, coarseDropout: 1 }, 0.1],
    ] as [AugmentConfig, number][]
  ) {
    const params = sampleAugmentBatch(new Rng(3), config, B, T, D);
    const got = await gpuAugment(tiles, labels, shape, params);
    let checked = 0;
    for (let b = 0; b < B; b++) {
      const h = params[b].coarseDropout;
      for (let e = 0; e < plane; e++) {
        const v = got.tiles[b * D * plane + e];
        const lab = got.labels[b * plane + e];
        const [y, x] = [Math.floor(e / T), e % T];
        if (h && x >= h.x && x < h.x + h.width && y >= h.y && y < h.y + h.height) {
          assert.equal(v, 0);
          assert.equal(lab, 0);
          continue;
        }
        if (Math.abs(v - 0.5) <= band) continue;
        checked++;
        assert.equal(
          lab,
          v > 0.5 ? 1 : 0,
          `tile ${b} pixel (${x}, ${y}): image ${v}, label ${lab}`,
        );
      }
    }
    assert.ok(checked > B * plane * 0.5, `only ${checked} pixels checked`);
  }
});
