import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordConvTranspose2d } from "./mod.ts";
import { convTranspose2dRef } from "./ref.ts";

interface Case {
  n: number;
  ci: number;
  h: number;
  wd: number;
  co: number;
  k: number;
  s: number;
  p: number;
  bias?: boolean;
  maxBinding?: number;
}

async function check(c: Case): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (c.maxBinding) gpu.maxBinding = c.maxBinding;
  try {
    const rand = (n: number) => new Float32Array(n).map(() => Math.random() * 2 - 1);
    const xh = rand(c.n * c.ci * c.h * c.wd), wh = rand(c.ci * c.co * c.k * c.k);
    const bh = c.bias ? rand(c.co) : undefined;
    const x = uploadTensor(gpu, [c.n, c.ci, c.h, c.wd], "f32", xh);
    const w = uploadTensor(gpu, [c.ci, c.co, c.k, c.k], "f32", wh);
    const b = bh ? uploadTensor(gpu, [c.co], "f32", bh) : undefined;
    const rec = gpu.kernels.recorder();
    const y = recordConvTranspose2d(gpu, rec, x, w, b, { stride: c.s, padding: c.p });
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    assertClose(
      got,
      convTranspose2dRef(xh, wh, bh, c),
      { atol: 1e-5, rtol: 1e-5 },
      JSON.stringify(c),
    );
    for (const t of [x, w, b, y]) t?.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("conv_transpose2d matches its reference for the seed's upscalers", async () => {
  await check({ n: 2, ci: 1, h: 5, wd: 7, co: 1, k: 4, s: 2, p: 1, bias: true });
  await check({ n: 1, ci: 3, h: 6, wd: 5, co: 3, k: 4, s: 2, p: 1, bias: true });
});

Deno.test("conv_transpose2d handles other kernels, strides and paddings", async () => {
  await check({ n: 1, ci: 4, h: 4, wd: 5, co: 6, k: 3, s: 2, p: 0 });
  await check({ n: 2, ci: 2, h: 5, wd: 4, co: 5, k: 5, s: 3, p: 2, bias: true });
  await check({ n: 1, ci: 3, h: 3, wd: 3, co: 2, k: 2, s: 1, p: 0 });
});

Deno.test("conv_transpose2d windows batch items under a small binding limit", async () => {
  await check({ n: 5, ci: 3, h: 6, wd: 6, co: 3, k: 4, s: 2, p: 1, bias: true, maxBinding: 2048 });
});
