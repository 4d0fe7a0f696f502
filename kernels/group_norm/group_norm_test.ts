import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import type { Activation } from "../elementwise/mod.ts";
import { recordGroupNorm } from "./mod.ts";
import { groupNormRef } from "./ref.ts";

/** Standard normal samples (Box-Muller). */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

interface Case {
  shape: number[];
  groups: number;
  affine?: boolean;
  activation?: Activation;
  /** Data = offset + scale * N(0, 1). */
  offset?: number;
  scale?: number;
  maxBinding?: number;
  tol?: { atol: number; rtol: number };
}

async function check(c: Case): Promise<void> {
  const gpu = await getGpu();
  const size = c.shape.reduce((a, b) => a * b);
  const ch = c.shape[1];
  const xs = new Float32Array(size);
  for (let i = 0; i < size; i++) xs[i] = (c.offset ?? 0) + (c.scale ?? 1) * gaussian();
  const gs = new Float32Array(ch).map(() => Math.random() * 2 - 0.5);
  const bs = new Float32Array(ch).map(() => Math.random() * 2 - 1);
  const x = uploadTensor(gpu, c.shape, "f32", xs);
  const gamma = c.affine ? uploadTensor(gpu, [ch], "f32", gs) : undefined;
  const beta = c.affine ? uploadTensor(gpu, [ch], "f32", bs) : undefined;
  const saved = gpu.maxBinding;
  if (c.maxBinding) gpu.maxBinding = c.maxBinding;
  const rec = gpu.kernels.recorder("test");
  let y;
  try {
    y = recordGroupNorm(gpu, rec, x, {
      groups: c.groups,
      gamma,
      beta,
      activation: c.activation,
      slope: 0.2,
    });
  } finally {
    gpu.maxBinding = saved;
  }
  rec.submit();
  const got = await downloadTensor(y) as Float32Array;
  const want = groupNormRef(xs, c.shape[0], ch, c.groups, {
    gamma: c.affine ? gs : undefined,
    beta: c.affine ? bs : undefined,
    activation: c.activation,
    slope: 0.2,
  });
  assertClose(got, want, c.tol ?? { atol: 2e-5, rtol: 1e-5 }, `group_norm ${JSON.stringify(c)}`);
  x.release();
  y.release();
  gamma?.release();
  beta?.release();
}

Deno.test("group_norm matches the reference (groups, affine, activations, odd planes)", async () => {
  await check({ shape: [2, 8, 3, 5, 7], groups: 4, affine: true });
  await check({ shape: [1, 6, 4, 9, 8], groups: 2, activation: "relu" });
  await check({ shape: [3, 1, 2, 3, 3], groups: 1, affine: true, activation: "leaky_relu" });
});

Deno.test("instance norm (G = C, no affine) with large planes and several merge levels", async () => {
  // 2 x 64 x 64 = 8192-element planes: 8 chunks per plane, 128-partial groups at G = 2.
  await check({ shape: [1, 4, 8, 32, 32], groups: 4, activation: "leaky_relu" });
  await check({ shape: [2, 16, 2, 64, 64], groups: 1 }); // 128 partials per group: two levels
});

Deno.test("group_norm keeps the variance accurate when the mean dwarfs the spread", async () => {
  // data = 1000 + N(0, 1): a naive E[x^2] - E[x]^2 in float32 loses every digit. The input
  // itself is quantised to 2^-14 near 1000, so outputs carry about 1e-4 of absolute error.
  await check({
    shape: [1, 4, 16, 64, 64],
    groups: 2,
    offset: 1000,
    affine: true,
    tol: { atol: 2e-4, rtol: 1e-4 },
  });
  // Variance 1e-4 next to a squared mean of 1e4 (a float32 ulp of 1e-3 there); the mean
  // itself is only representable to 4e-6, 4e-4 of a standard deviation.
  await check({
    shape: [1, 2, 1, 3, 1000],
    groups: 1,
    offset: 100,
    scale: 0.01,
    tol: { atol: 2e-3, rtol: 1e-4 },
  });
});

Deno.test("group_norm windows channel planes under a small binding limit", async () => {
  // 5 x 6 x 7 planes are 840 bytes: one plane per window.
  await check({ shape: [2, 6, 5, 6, 7], groups: 3, affine: true, maxBinding: 1100 });
  await check({ shape: [1, 4, 4, 8, 8], groups: 2, maxBinding: 2048, activation: "relu" });
});
