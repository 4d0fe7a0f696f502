import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordLayerNorm } from "./mod.ts";
import { layerNormRef } from "./ref.ts";

async function check(rows: number, c: number, offset: number, maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    // A large common offset per row tests the variance against cancellation.
    const xh = new Float32Array(rows * c);
    for (let r = 0; r < rows; r++) {
      const shift = offset * (Math.random() * 2 - 1);
      for (let j = 0; j < c; j++) xh[r * c + j] = shift + Math.random() * 2 - 1;
    }
    const g = new Float32Array(c).map(() => Math.random() + 0.5);
    const b = new Float32Array(c).map(() => Math.random() - 0.5);
    const x = uploadTensor(gpu, [rows, c], "f32", xh);
    const gt = uploadTensor(gpu, [c], "f32", g);
    const bt = uploadTensor(gpu, [c], "f32", b);
    const rec = gpu.kernels.recorder();
    const y = recordLayerNorm(gpu, rec, x, gt, bt);
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    // Outputs are O(1); float32 rounding of x itself limits the relative accuracy at large offsets.
    const atol = 2e-5 * Math.max(1, offset / 10);
    assertClose(got, layerNormRef(xh, g, b, c), { atol, rtol: 1e-4 }, `layer_norm ${rows}x${c}`);
    for (const t of [x, gt, bt, y]) t.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("layer_norm matches its reference, including C not a multiple of 4", async () => {
  await check(37, 64, 0);
  await check(10, 30, 1);
});

Deno.test("layer_norm stays accurate when |mean| is much larger than std", async () => {
  await check(16, 96, 100);
});

Deno.test("layer_norm windows rows under a small binding limit", async () => {
  await check(45, 32, 1, 1024); // 6 rows per window
});
