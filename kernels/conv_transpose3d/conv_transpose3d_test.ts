import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, GpuTensor, uploadTensor } from "../tensor.ts";
import assert from "node:assert/strict";
import {
  convTranspose3dGemmFits,
  prepareConvTranspose3dGemm,
  prepareConvTranspose3dWeight,
  recordConvTranspose3d,
  recordConvTranspose3dGemm,
} from "./mod.ts";
import { convTranspose3dRef } from "./ref.ts";

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

async function check(
  xShape: [number, number, number, number, number],
  co: number,
  bias: boolean,
  maxBinding?: number,
  maxPerDim?: number,
  path: "direct" | "gemm" = "direct",
): Promise<void> {
  const gpu = await getGpu();
  const ci = xShape[1];
  const xs = random(xShape.reduce((a, b) => a * b));
  const ws = random(ci * co * 8);
  const bs = bias ? random(co) : undefined;
  const x = uploadTensor(gpu, xShape, "f32", xs);
  const w = uploadTensor(gpu, [ci, co, 2, 2, 2], "f32", ws);
  const b = bs ? uploadTensor(gpu, [co], "f32", bs) : undefined;
  const prep = gpu.kernels.recorder("prepare");
  const prepared = path === "gemm"
    ? prepareConvTranspose3dGemm(gpu, prep, w)
    : prepareConvTranspose3dWeight(gpu, prep, w, b);
  prep.submit();
  const rec = gpu.kernels.recorder("test");
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  let y;
  try {
    if (prepared instanceof GpuTensor) {
      assert.ok(convTranspose3dGemmFits(gpu, x, co));
      y = recordConvTranspose3dGemm(gpu, rec, x, prepared, b);
    } else {
      y = recordConvTranspose3d(gpu, rec, x, prepared);
    }
  } finally {
    gpu.maxBinding = saved;
  }
  const limits = gpu.adapter.limits;
  const savedDim = limits.maxComputeWorkgroupsPerDimension;
  if (maxPerDim) limits.maxComputeWorkgroupsPerDimension = maxPerDim;
  try {
    rec.submit();
  } finally {
    limits.maxComputeWorkgroupsPerDimension = savedDim;
  }
  const got = await downloadTensor(y) as Float32Array;
  const want = convTranspose3dRef(xs, xShape, ws, co, bs);
  const [n, , d, h, wd] = xShape;
  if (y.shape.join() !== [n, co, 2 * d, 2 * h, 2 * wd].join()) throw new Error(`shape ${y.shape}`);
  assertClose(
    got,
    want,
    { atol: 2e-7 * ci + 1e-6, rtol: 1e-5 },
    `conv_transpose3d (${path}) ${xShape} -> ${co}`,
  );
  for (const t of [x, w, y]) t.release();
  b?.release();
  prepared.release();
}

Deno.test("conv_transpose3d (k 2, s 2) matches the reference", async () => {
  await check([2, 3, 2, 3, 5], 5, true); // partial channel block, ragged columns
  await check([1, 6, 3, 2, 8], 3, false); // 4-channel blocks
});

Deno.test("conv_transpose3d reduces 768 input channels over several weight windows", async () => {
  await check([1, 768, 1, 2, 4], 12, false);
});

Deno.test("conv_transpose3d splits channels over windows under a small binding limit", async () => {
  // Input plane 2x3x5 = 120 bytes, output plane 960 bytes: 1 output plane per 1280-byte
  // window (a block of 8 split over dispatches), 8 input channels per range.
  await check([2, 10, 2, 3, 5], 9, true, 1280);
});

Deno.test("conv_transpose3d spreads large dispatches over 2D grids without stray writes", async () => {
  // 5 blocks x 1 workgroup on a 4-wide grid: 2 x 3, one spare.
  await check([1, 3, 2, 4, 16], 40, true, undefined, 4);
});

Deno.test("conv_transpose3d as GEMM + shuffle matches the reference", async () => {
  await check([2, 5, 3, 4, 6], 3, true, undefined, undefined, "gemm");
  await check([1, 16, 4, 8, 8], 8, false, undefined, undefined, "gemm");
  // The GEMM chunks its K under a small binding limit (one item's result still fits).
  await check([2, 40, 2, 6, 8], 2, true, 8192, undefined, "gemm");
});
