import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { type DepthReduce, recordFlattenDepth } from "./mod.ts";
import { flattenDepthRef } from "./ref.ts";

async function check(reduce: DepthReduce, maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const shape: [number, number, number, number, number] = [2, 3, 5, 7, 9];
    const x = new Float32Array(shape.reduce((a, b) => a * b));
    for (let i = 0; i < x.length; i++) x[i] = Math.random() * 4 - 2;
    const t = uploadTensor(gpu, shape, "f32", x);
    const rec = gpu.kernels.recorder();
    const y = recordFlattenDepth(gpu, rec, t, reduce);
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    assertClose(got, flattenDepthRef(x, shape, reduce), { atol: 1e-6, rtol: 1e-5 }, reduce);
    t.release();
    y.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("flatten_depth max and mean match the reference", async () => {
  await check("max");
  await check("mean");
});

Deno.test("flatten_depth windows stacks under a small binding limit", async () => {
  await check("max", 5 * 7 * 9 * 4 + 512); // one (D, H, W) stack per window
});
