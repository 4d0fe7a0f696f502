import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, emptyTensor, uploadTensor, writeTensor } from "../tensor.ts";
import { recordResizeBilinear } from "./mod.ts";
import { resizeBilinearRef } from "./ref.ts";

async function check(
  shape: [number, number, number, number],
  size: [number, number],
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const [n, c, h, w] = shape;
    const xh = new Float32Array(n * c * h * w).map(() => Math.random() * 2 - 1);
    const x = uploadTensor(gpu, shape, "f32", xh);
    const rec = gpu.kernels.recorder();
    const y = recordResizeBilinear(gpu, rec, x, size);
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    const want = resizeBilinearRef(xh, n * c, h, w, size[0], size[1]);
    assertClose(got, want, { atol: 1e-6, rtol: 1e-5 }, `resize ${shape} -> ${size}`);
    x.release();
    y.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("the bilinear reference matches values from PyTorch", () => {
  // F.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4), mode="bilinear")[0, 0, 0]
  // and size=(3, 3) [0, 0, 1] (non-integer ratio).
  const x = new Float32Array([1, 2, 3, 4]);
  assert.deepEqual([...resizeBilinearRef(x, 1, 2, 2, 4, 4).subarray(0, 4)], [1, 1.25, 1.75, 2]);
  assert.ok(Math.abs(resizeBilinearRef(x, 1, 2, 2, 3, 3)[1] - 1.5) < 1e-7);
});

Deno.test("resize_bilinear matches its reference for x2, x4, x8 and non-integer ratios", async () => {
  await check([2, 3, 5, 7], [10, 14]);
  await check([1, 2, 4, 6], [16, 24]);
  await check([1, 2, 3, 5], [24, 40]);
  await check([1, 2, 6, 9], [9, 14]); // x1.5 and x1.56
  await check([1, 2, 9, 10], [4, 7]); // downscaling
});

Deno.test("resize_bilinear writes into a channel slice of a larger tensor", async () => {
  const gpu = await getGpu();
  const xh = new Float32Array(2 * 2 * 3 * 3).map(() => Math.random());
  const x = uploadTensor(gpu, [2, 2, 3, 3], "f32", xh);
  const cat = emptyTensor(gpu, [2, 5, 6, 6], "f32");
  writeTensor(cat, new Float32Array(2 * 5 * 36).fill(7));
  const rec = gpu.kernels.recorder();
  recordResizeBilinear(gpu, rec, x, [6, 6], { into: { tensor: cat, channelOffset: 1 } });
  rec.submit();
  const got = await downloadTensor(cat) as Float32Array;
  const want = resizeBilinearRef(xh, 4, 3, 3, 6, 6);
  for (let b = 0; b < 2; b++) {
    const item = got.subarray(b * 180, (b + 1) * 180);
    assertClose(item.subarray(36, 108), want.subarray(b * 72, (b + 1) * 72), { atol: 1e-6 });
    assert.ok(
      item.subarray(0, 36).every((v) => v === 7) && item.subarray(108).every((v) => v === 7),
    );
  }
  x.release();
  cat.release();
});

Deno.test("resize_bilinear windows planes under a small binding limit", async () => {
  await check([2, 5, 4, 4], [8, 8], 1024); // 3 output planes per window
});
