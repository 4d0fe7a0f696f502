import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordTranspose } from "./mod.ts";
import { transposeRef } from "./ref.ts";

async function check(b: number, m: number, n: number, maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const xh = new Float32Array(b * m * n).map(() => Math.random() * 2 - 1);
    const x = uploadTensor(gpu, [b, m, n], "f32", xh);
    const rec = gpu.kernels.recorder();
    const y = recordTranspose(gpu, rec, x);
    rec.submit();
    assert.deepEqual(y.shape, [b, n, m]);
    const got = await downloadTensor(y) as Float32Array;
    assertClose(got, transposeRef(xh, b, m, n), { atol: 0, rtol: 0 }, `transpose ${b}x${m}x${n}`);
    x.release();
    y.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("transpose matches its reference for ragged shapes and batches", async () => {
  await check(3, 13, 22);
  await check(2, 64, 36);
  await check(1, 1, 7);
});

Deno.test("transpose windows batches and blocks under a small binding limit", async () => {
  await check(5, 10, 12, 1024); // two whole matrices per window
  await check(2, 45, 39, 2048); // one matrix split into row x column blocks
});
