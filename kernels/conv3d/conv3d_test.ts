import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import type { Activation } from "../elementwise/mod.ts";
import { prepareConv3dWeight, recordConv3d, type Size3 } from "./mod.ts";
import { conv3dRef } from "./ref.ts";

function random(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

function triple(v: Size3 | undefined, d: number): [number, number, number] {
  return v === undefined ? [d, d, d] : typeof v === "number" ? [v, v, v] : [v[0], v[1], v[2]];
}

interface Case {
  x: [number, number, number, number, number];
  w: [number, number, number, number, number];
  stride?: Size3;
  padding?: Size3;
  bias?: boolean;
  activation?: Activation;
  /** Binding limit while recording the convolution (not the weight packing). */
  maxBinding?: number;
  /** Workgroups per grid dimension: small values force 2D grids on small tensors. */
  maxPerDim?: number;
}

async function check(c: Case): Promise<void> {
  const gpu = await getGpu();
  const xs = random(c.x.reduce((a, b) => a * b));
  const ws = random(c.w.reduce((a, b) => a * b));
  const bs = c.bias ? random(c.w[0]) : undefined;
  const x = uploadTensor(gpu, c.x, "f32", xs);
  const w = uploadTensor(gpu, c.w, "f32", ws);
  const b = bs ? uploadTensor(gpu, [c.w[0]], "f32", bs) : undefined;
  const prep = gpu.kernels.recorder("prepare");
  const packed = prepareConv3dWeight(gpu, prep, w, b);
  prep.submit();
  const rec = gpu.kernels.recorder("test");
  const saved = gpu.maxBinding;
  if (c.maxBinding) gpu.maxBinding = c.maxBinding;
  let y;
  try {
    y = recordConv3d(gpu, rec, x, packed, {
      stride: c.stride,
      padding: c.padding,
      activation: c.activation,
      slope: 0.1,
    });
  } finally {
    gpu.maxBinding = saved;
  }
  const limits = gpu.adapter.limits;
  const savedDim = limits.maxComputeWorkgroupsPerDimension;
  if (c.maxPerDim) limits.maxComputeWorkgroupsPerDimension = c.maxPerDim;
  try {
    rec.submit();
  } finally {
    limits.maxComputeWorkgroupsPerDimension = savedDim;
  }
  const got = await downloadTensor(y) as Float32Array;
  const ref = conv3dRef(xs, ws, bs, {
    x: c.x,
    w: c.w,
    stride: triple(c.stride, 1),
    padding: triple(c.padding, 0),
  });
  const want = ref.y.map((v) =>
    c.activation === "relu" ? Math.max(v, 0) : c.activation === "leaky_relu" && v < 0 ? v * 0.1 : v
  );
  if (y.shape.join() !== ref.shape.join()) throw new Error(`shape ${y.shape} != ${ref.shape}`);
  // Inputs and weights in [-1, 1]: rounding grows with the number of terms in each dot product.
  const terms = c.w[1] * c.w[2] * c.w[3] * c.w[4];
  assertClose(got, want, { atol: 2e-7 * terms + 1e-6, rtol: 1e-5 }, `conv3d ${JSON.stringify(c)}`);
  for (const t of [x, w, y]) t.release();
  b?.release();
  packed.release();
}

Deno.test("conv3d 3x3x3 stride 1 matches the reference (bias, padding, edges, activations)", async () => {
  await check({ x: [2, 3, 4, 6, 7], w: [5, 3, 3, 3, 3], padding: 1, bias: true });
  await check({ x: [1, 2, 5, 9, 5], w: [3, 2, 3, 3, 3], padding: 1, activation: "leaky_relu" });
  await check({ x: [1, 4, 3, 5, 6], w: [8, 4, 3, 3, 3], padding: [0, 1, 2] });
});

Deno.test("conv3d 3x3x3 reduces over many input channels in several weight windows", async () => {
  // 80 input channels: one block's weights exceed a 64 KiB uniform window.
  await check({ x: [1, 80, 2, 5, 4], w: [10, 80, 3, 3, 3], padding: 1, bias: true });
});

Deno.test("conv3d general kernel: 1x1x1, strided, anisotropic and patch-embedding kernels", async () => {
  await check({ x: [2, 6, 3, 4, 5], w: [9, 6, 1, 1, 1], bias: true });
  await check({
    x: [1, 3, 4, 8, 8],
    w: [7, 3, 2, 2, 2],
    stride: 2,
    bias: true,
    activation: "relu",
  });
  await check({ x: [1, 2, 3, 9, 7], w: [4, 2, 1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] });
  // 16^3 patches, 4096 taps per channel: several weight windows per output block.
  await check({ x: [1, 1, 16, 32, 48], w: [12, 1, 16, 16, 16], stride: 16, bias: true });
});

Deno.test("conv3d splits channels over windows under a small binding limit", async () => {
  // A 4x6x7 plane is 672 bytes: 2 planes per window, 8 input channels per range (9 needs
  // two), 8 output channels per group.
  const x: Case["x"] = [2, 9, 4, 6, 7];
  await check({ x, w: [10, 9, 3, 3, 3], padding: 1, bias: true, maxBinding: 2048 });
  // One plane per window: a block of 8 output channels is split over two dispatches.
  await check({ x, w: [10, 9, 3, 3, 3], padding: 1, bias: true, maxBinding: 1024 });
  await check({ x, w: [6, 9, 1, 3, 3], padding: [0, 1, 1], maxBinding: 1024, activation: "relu" });
});

Deno.test("conv3d spreads large dispatches over 2D grids without stray writes", async () => {
  // 5 blocks x 2 workgroups = 10 workgroups on a 4-wide grid: 3 x 4, two spare.
  await check({ x: [1, 2, 5, 16, 16], w: [40, 2, 3, 3, 3], padding: 1, maxPerDim: 4 });
  // 5 blocks x 5 workgroups = 25 on an 8-wide grid: 4 x 7, three spare.
  await check({ x: [1, 2, 5, 16, 16], w: [40, 2, 1, 1, 1], bias: true, maxPerDim: 8 });
});
