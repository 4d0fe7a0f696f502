// The TypeScript reference against albumentations 1.3 / OpenCV outputs
// (augment_fixture.safetensors, from gen_augment_fixture.py). CPU only.
//
// OpenCV's warps round source coordinates in fixed point (1/1024, then 1/32
// pixel for bilinear); the reference's `opencv` option emulates that, and
// with it every warp matches to float32 precision and every mask pixel
// exactly. Without it (what the GPU computes: exact coordinates) image values
// differ by up to |gradient| / 64, which the smooth fixture images keep
// under 3e-3; that is checked too.

import assert from "node:assert/strict";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { assertClose } from "../compare.ts";
import {
  type AugmentParams,
  gaussianKernel,
  gridMap,
  identityParams,
  linePixels,
  motionKernel,
  shiftScaleRotateMatrix,
} from "./params.ts";
import {
  augmentTileRef,
  filter2dRef,
  hflipRef,
  noiseBlurRef,
  remapRef,
  rot90PlanesRef,
  vflipRef,
  warpAffineRef,
} from "./ref.ts";

const FIXTURE = new URL("./augment_fixture.safetensors", import.meta.url);
const dict = await readSafetensors(FIXTURE.pathname);

async function get(name: string): Promise<{ data: Float32Array; shape: readonly number[] }> {
  const t = dict.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return { data: await t.data(), shape: t.shape };
}

/** (H, W, C) or (H, W) from the fixture as C planes of H x W. */
async function planes(name: string): Promise<{ data: Float64Array; size: number }> {
  const { data, shape } = await get(name);
  const [h, w] = shape;
  const c = shape.length === 3 ? shape[2] : 1;
  const out = new Float64Array(h * w * c);
  for (let r = 0; r < h; r++) {
    for (let q = 0; q < w; q++) {
      for (let ch = 0; ch < c; ch++) out[ch * h * w + r * w + q] = data[(r * w + q) * c + ch];
    }
  }
  return { data: out, size: h };
}

function countMismatches(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

const image = await planes("image");
const mask = await planes("mask");
const T = image.size;
const BILINEAR = { atol: 3e-3, rtol: 0 };
const CV = { atol: 1e-5, rtol: 0 };
const EXACT = { atol: 1e-6, rtol: 0 };

Deno.test("fixture: flips and rot90 follow np.rot90 (counter-clockwise) after hflip / vflip", async () => {
  const hvk1 = rot90PlanesRef(vflipRef(hflipRef(image.data, T), T), T, 1);
  assertClose(hvk1, (await planes("flip_h_v_k1")).data, EXACT, "hflip+vflip+rot90 k=1");
  const hk3 = rot90PlanesRef(hflipRef(image.data, T), T, 3);
  assertClose(hk3, (await planes("flip_h_k3")).data, EXACT, "hflip+rot90 k=3");
  const vk2 = rot90PlanesRef(vflipRef(mask.data, T), T, 2);
  assert.deepEqual([...vk2], [...(await planes("flip_v_k2_mask")).data]);
});

Deno.test("fixture: brightness/contrast clips to [0, 1]", async () => {
  const [alpha, beta] = (await get("bc_params")).data;
  const p: AugmentParams = { ...identityParams(), brightnessContrast: { alpha, beta } };
  const got = augmentTileRef(image.data, mask.data, T, p).image;
  assertClose(got, (await planes("bc")).data, EXACT, "brightness/contrast");
});

Deno.test("fixture: shift-scale-rotate matches cv2.getRotationMatrix2D + warpAffine", async () => {
  for (let i = 0; i < 3; i++) {
    const [angle, scale, dx, dy] = (await get(`ssr${i}_params`)).data;
    const m = shiftScaleRotateMatrix(angle, scale, dx, dy, T);
    assertClose(m, (await get(`ssr${i}_matrix`)).data, { atol: 1e-5, rtol: 1e-6 }, `matrix ${i}`);
    const wantImg = (await planes(`ssr${i}_image`)).data;
    const wantMask = (await planes(`ssr${i}_mask`)).data;
    const opencv = { opencv: true };
    const cv = assertClose(
      warpAffineRef(image.data, T, m, "linear", opencv),
      wantImg,
      CV,
      `ssr ${i}`,
    );
    assert.equal(countMismatches(warpAffineRef(mask.data, T, m, "nearest", opencv), wantMask), 0);
    const exact = assertClose(
      warpAffineRef(image.data, T, m, "linear"),
      wantImg,
      BILINEAR,
      `ssr ${i}`,
    );
    const bad = countMismatches(warpAffineRef(mask.data, T, m, "nearest"), wantMask);
    assert.ok(bad <= 4, `ssr ${i}: ${bad} mask pixels differ`);
    console.log(
      `ssr ${i}: max abs error ${cv.maxAbsError.toExponential(2)} (fixed point), ` +
        `${exact.maxAbsError.toExponential(2)} (exact coordinates); ${bad} mask pixels differ`,
    );
  }
});

Deno.test("fixture: GaussianBlur (sigma 0) and MotionBlur kernels through filter2D", async () => {
  for (const k of [3, 5, 7]) {
    const got = filter2dRef(image.data, T, gaussianKernel(k), k);
    assertClose(got, (await planes(`gauss${k}`)).data, { atol: 1e-6, rtol: 1e-5 }, `gauss ${k}`);
  }
  for (let i = 0; i < 4; i++) {
    const [k, x1, y1, x2, y2] = (await get(`motion${i}_line`)).data;
    const kernel = motionKernel(k, x1, y1, x2, y2);
    const got = noiseBlurRef(image.data, T, {
      kind: "motionBlur",
      ksize: k,
      line: [x1, y1, x2, y2],
      kernel,
    });
    assertClose(got, (await planes(`motion${i}`)).data, { atol: 1e-6, rtol: 1e-5 }, `motion ${i}`);
  }
});

Deno.test("fixture: linePixels equals cv2.line for every kernel line of size 3, 5 and 7", async () => {
  for (const k of [3, 5, 7]) {
    const rows = (await dict.get(`lines${k}`)!.raw()) as Uint8Array;
    let n = 0;
    for (let x1 = 0; x1 < k; x1++) {
      for (let y1 = 0; y1 < k; y1++) {
        for (let x2 = 0; x2 < k; x2++) {
          for (let y2 = 0; y2 < k; y2++) {
            const got = new Array<number>(k).fill(0);
            for (const [x, y] of linePixels(x1, y1, x2, y2)) got[y] |= 1 << x;
            const want = [...rows.subarray(n * k, (n + 1) * k)];
            assert.deepEqual(got, want, `k=${k} line (${x1},${y1})-(${x2},${y2})`);
            n++;
          }
        }
      }
    }
  }
});

Deno.test("fixture: grid distortion maps and remap at T = 32 and T = 40", async () => {
  for (
    const [name, img, msk] of [
      ["grid", image, mask],
      ["grid40", await planes("image40"), await planes("mask40")],
    ] as const
  ) {
    const steps = (await get(`${name}_steps`)).data;
    const sx = [...steps.subarray(0, 6)];
    const sy = [...steps.subarray(6, 12)];
    const t = img.size;
    const maps = (await get(`${name}_maps`)).data;
    const mx = gridMap(sx, t);
    const my = gridMap(sy, t);
    assert.deepEqual([...mx], [...maps.subarray(0, t)], `${name} map x`);
    assert.deepEqual([...my], [...maps.subarray(t, 2 * t)], `${name} map y`);
    const wantImg = (await planes(`${name}_image`)).data;
    const wantMask = (await planes(`${name}_mask`)).data;
    const opencv = { opencv: true };
    const cv = assertClose(remapRef(img.data, t, mx, my, "linear", opencv), wantImg, CV, name);
    const exact = assertClose(remapRef(img.data, t, mx, my, "linear"), wantImg, BILINEAR, name);
    assert.equal(countMismatches(remapRef(msk.data, t, mx, my, "nearest"), wantMask), 0);
    console.log(
      `${name}: max abs error ${cv.maxAbsError.toExponential(2)} (fixed point), ` +
        `${exact.maxAbsError.toExponential(2)} (exact coordinates)`,
    );
  }
});

Deno.test("fixture: the whole chain in the seed's order", async () => {
  const v = [...(await get("chain_params")).data];
  const [alpha, beta, drop, angle, scale, dx, dy, gk] = v;
  const xs = v.slice(8, 14);
  const ys = v.slice(14, 20);
  const [hx, hy, hs] = v.slice(20, 23);
  const p: AugmentParams = {
    hflip: true,
    vflip: false,
    rot90: 2,
    brightnessContrast: { alpha, beta },
    channelDropout: [drop],
    shiftScaleRotate: {
      angle,
      scale,
      dx,
      dy,
      matrix: shiftScaleRotateMatrix(angle, scale, dx, dy, T),
    },
    noiseBlur: { kind: "gaussianBlur", ksize: gk, kernel: gaussianKernel(gk) },
    gridDistortion: { stepsX: xs, stepsY: ys },
    coarseDropout: { x: hx, y: hy, width: hs, height: hs },
  };
  const wantImg = (await planes("chain_image")).data;
  const wantMask = (await planes("chain_mask")).data;
  const cv = augmentTileRef(image.data, mask.data, T, p, { opencv: true });
  const c1 = assertClose(cv.image, wantImg, CV, "chain image (fixed point)");
  assert.equal(countMismatches(cv.label, wantMask), 0);
  const got = augmentTileRef(image.data, mask.data, T, p);
  const c2 = assertClose(got.image, wantImg, BILINEAR, "chain image");
  const bad = countMismatches(got.label, wantMask);
  assert.ok(bad <= 8, `chain: ${bad} mask pixels differ`);
  console.log(
    `chain: max abs error ${c1.maxAbsError.toExponential(2)} (fixed point), ` +
      `${c2.maxAbsError.toExponential(2)} (exact coordinates); ${bad} mask pixels differ`,
  );
});
