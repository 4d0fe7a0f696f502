import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordBatchNorm } from "./mod.ts";
import { batchNormRef } from "./ref.ts";

async function check(
  n: number,
  c: number,
  h: number,
  w: number,
  relu: boolean,
  maxBinding?: number,
) {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const xh = new Float32Array(n * c * h * w).map(() => Math.random() * 4 - 2);
    const stats = new Float32Array(4 * c).map((_, i) =>
      i < 2 * c ? Math.random() * 2 - 1 : i < 3 * c ? Math.random() - 0.5 : Math.random() + 0.1
    );
    const x = uploadTensor(gpu, [n, c, h, w], "f32", xh);
    const [weight, bias, runningMean, runningVar] = [0, 1, 2, 3].map((r) =>
      uploadTensor(gpu, [c], "f32", stats.slice(r * c, (r + 1) * c))
    );
    const rec = gpu.kernels.recorder();
    const y = recordBatchNorm(gpu, rec, x, { weight, bias, runningMean, runningVar }, { relu });
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    assertClose(got, batchNormRef(xh, stats, n, c, h * w, 1e-5, relu), { atol: 1e-5, rtol: 1e-5 });
    for (const t of [x, weight, bias, runningMean, runningVar, y]) t.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("batch_norm matches its reference, with and without ReLU", async () => {
  await check(2, 5, 7, 9, false);
  await check(1, 3, 6, 6, true);
});

Deno.test("batch_norm windows planes under a small binding limit", async () => {
  await check(3, 4, 9, 10, true, 1024); // two planes per window
});
