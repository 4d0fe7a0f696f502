import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { type ImageLayout, recordConv2d } from "./mod.ts";
import { conv2dRef, type Conv2dRefShape, toTokens } from "./ref.ts";
import { geluRef } from "../gelu/ref.ts";

function rand(n: number): Float32Array {
  return new Float32Array(n).map(() => Math.random() * 2 - 1);
}

interface Case extends Conv2dRefShape {
  bias?: boolean;
  inLayout?: ImageLayout;
  outLayout?: ImageLayout;
  gelu?: boolean;
  maxBinding?: number;
}

async function check(c: Case): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (c.maxBinding) gpu.maxBinding = c.maxBinding;
  try {
    const inL = c.inLayout ?? "nchw", outL = c.outLayout ?? inL;
    const xh = rand(c.n * c.ci * c.h * c.w);
    const wh = rand(c.co * (c.ci / c.groups) * c.kh * c.kw);
    const bh = c.bias ? rand(c.co) : undefined;
    const x = inL === "nchw"
      ? uploadTensor(gpu, [c.n, c.ci, c.h, c.w], "f32", xh)
      : uploadTensor(gpu, [c.n, c.h * c.w, c.ci], "f32", toTokens(xh, c.n, c.ci, c.h * c.w));
    const w = uploadTensor(gpu, [c.co, c.ci / c.groups, c.kh, c.kw], "f32", wh);
    const b = bh ? uploadTensor(gpu, [c.co], "f32", bh) : undefined;
    const rec = gpu.kernels.recorder();
    const y = recordConv2d(gpu, rec, x, w, b, {
      stride: c.stride,
      padding: c.padding,
      groups: c.groups,
      inputLayout: inL,
      outputLayout: outL,
      size: [c.h, c.w],
      activation: c.gelu ? "gelu" : "none",
    });
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    let want = conv2dRef(xh, wh, bh, c);
    if (c.gelu) want = want.map(geluRef);
    const hw = want.length / (c.n * c.co);
    if (outL === "tokens") want = toTokens(want, c.n, c.co, hw);
    const what = `conv2d ${c.ci}->${c.co} k${c.kh} s${c.stride} p${c.padding} g${c.groups}`;
    assertClose(got, want, { atol: 1e-5, rtol: 1e-4 }, `${what} ${inL}->${outL}`);
    for (const t of [x, w, b, y]) t?.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

const base = { n: 2, bias: true, groups: 1 };

Deno.test("dense conv2d matches its reference for SegFormer's shapes", async () => {
  // Patch embedding 7x7 s4 p3 straight to tokens; 3x3 s2 p1; reduction k = s = 2 on tokens.
  await check({
    ...base,
    ci: 5,
    h: 17,
    w: 14,
    co: 18,
    kh: 7,
    kw: 7,
    stride: 4,
    padding: 3,
    outLayout: "tokens",
  });
  await check({
    ...base,
    ci: 8,
    h: 9,
    w: 10,
    co: 20,
    kh: 3,
    kw: 3,
    stride: 2,
    padding: 1,
    bias: false,
  });
  await check({
    ...base,
    ci: 12,
    h: 8,
    w: 6,
    co: 12,
    kh: 2,
    kw: 2,
    stride: 2,
    padding: 0,
    inLayout: "tokens",
  });
});

Deno.test("depthwise conv2d matches its reference, fused GELU and any kernel", async () => {
  const dw = { ...base, groups: 10, ci: 10, co: 10 };
  await check({
    ...dw,
    h: 7,
    w: 11,
    kh: 3,
    kw: 3,
    stride: 1,
    padding: 1,
    inLayout: "tokens",
    gelu: true,
  });
  await check({ ...dw, h: 6, w: 9, kh: 3, kw: 3, stride: 1, padding: 1, bias: false });
  await check({
    ...dw,
    h: 9,
    w: 8,
    kh: 5,
    kw: 5,
    stride: 2,
    padding: 2,
    inLayout: "tokens",
    outLayout: "nchw",
  });
});

Deno.test("conv2d cuts batches, rows and channels under a small binding limit", async () => {
  // nchw input: channel chunks accumulate; token output: row bands.
  await check({
    ...base,
    ci: 16,
    h: 12,
    w: 12,
    co: 24,
    kh: 3,
    kw: 3,
    stride: 2,
    padding: 1,
    outLayout: "tokens",
    maxBinding: 2048,
  });
  // token input: row bands; nchw output: channel chunks.
  await check({
    ...base,
    ci: 16,
    h: 12,
    w: 12,
    co: 24,
    kh: 3,
    kw: 3,
    stride: 1,
    padding: 1,
    inLayout: "tokens",
    outLayout: "nchw",
    maxBinding: 3072,
  });
  const dw = { ...base, groups: 12, ci: 12, co: 12, kh: 3, kw: 3, stride: 1, padding: 1 };
  await check({ ...dw, h: 13, w: 10, inLayout: "tokens", gelu: true, maxBinding: 2560 });
  await check({ ...dw, h: 13, w: 10, maxBinding: 2560 });
});
