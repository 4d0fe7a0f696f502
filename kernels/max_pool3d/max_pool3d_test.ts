import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordMaxPool3d } from "./mod.ts";
import { maxPool3dRef } from "./ref.ts";

async function check(shape: number[], maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const xs = new Float32Array(shape.reduce((a, b) => a * b)).map(() => Math.random() * 2 - 1);
  const x = uploadTensor(gpu, shape, "f32", xs);
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  const rec = gpu.kernels.recorder("test");
  let y;
  try {
    y = recordMaxPool3d(gpu, rec, x);
  } finally {
    gpu.maxBinding = saved;
  }
  rec.submit();
  const got = await downloadTensor(y) as Float32Array;
  const [n, c, d, h, w] = shape;
  if (y.shape.join() !== [n, c, d >> 1, h >> 1, w >> 1].join()) throw new Error(`shape ${y.shape}`);
  assertClose(got, maxPool3dRef(xs, shape), { atol: 0, rtol: 0 }, `max_pool3d ${shape}`);
  x.release();
  y.release();
}

Deno.test("max_pool3d matches the reference, odd sizes floored", async () => {
  await check([2, 3, 4, 6, 8]);
  await check([1, 2, 5, 7, 9]);
});

Deno.test("max_pool3d windows channel planes under a small binding limit", async () => {
  await check([2, 5, 4, 6, 10], 1280); // 960-byte planes: one per window
});
