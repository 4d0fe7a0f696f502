import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordUpsampleNearest3d } from "./mod.ts";
import { nearestIndex, upsampleNearest3dRef } from "./ref.ts";

async function check(
  shape: number[],
  size: [number, number, number],
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const xs = new Float32Array(shape.reduce((a, b) => a * b)).map(() => Math.random() * 2 - 1);
  const x = uploadTensor(gpu, shape, "f32", xs);
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  const rec = gpu.kernels.recorder("test");
  let y;
  try {
    y = recordUpsampleNearest3d(gpu, rec, x, size);
  } finally {
    gpu.maxBinding = saved;
  }
  rec.submit();
  const got = await downloadTensor(y) as Float32Array;
  assert.deepEqual(y.shape, [shape[0], shape[1], ...size]);
  assertClose(
    got,
    upsampleNearest3dRef(xs, shape, size),
    { atol: 0, rtol: 0 },
    `${shape} -> ${size}`,
  );
  x.release();
  y.release();
}

Deno.test("nearest source indices follow ATen (float32 scale, floor, clamp)", () => {
  // torch.nn.functional.interpolate(torch.arange(n)[None, None].float(), size=m) values.
  assert.deepEqual([...Array(7).keys()].map((i) => nearestIndex(i, 3, 7)), [0, 0, 0, 1, 1, 2, 2]);
  assert.deepEqual([...Array(5).keys()].map((i) => nearestIndex(i, 2, 5)), [0, 0, 0, 1, 1]);
  assert.deepEqual([...Array(3).keys()].map((i) => nearestIndex(i, 7, 3)), [0, 2, 4]);
  assert.deepEqual([...Array(8).keys()].map((i) => nearestIndex(i, 4, 8)), [
    0,
    0,
    1,
    1,
    2,
    2,
    3,
    3,
  ]);
});

Deno.test("upsample_nearest3d matches the reference for 2x, odd and shrinking sizes", async () => {
  await check([2, 3, 2, 4, 5], [4, 8, 10]);
  await check([1, 2, 3, 5, 4], [7, 9, 4]);
  await check([1, 1, 6, 7, 9], [3, 5, 4]);
});

Deno.test("upsample_nearest3d windows channel planes under a small binding limit", async () => {
  await check([2, 3, 2, 4, 5], [4, 8, 10], 1536); // 1280-byte output planes: one per window
});
