import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordConv1x1, recordLinear } from "./mod.ts";
import { conv1x1Ref, linearRef } from "./ref.ts";

function rand(n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() * 2 - 1;
  return a;
}

// Sums of K products of values in [-1, 1]: absolute error grows like sqrt(K) ulps.
const TOL = { atol: 1e-5, rtol: 1e-4 };

async function checkLinear(
  m: number,
  k: number,
  n: number,
  layout: "nk" | "kn",
  withBias: boolean,
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const xh = rand(m * k), wh = rand(n * k), bh = rand(n);
    const x = uploadTensor(gpu, [2, m / 2, k], "f32", xh);
    const w = uploadTensor(gpu, layout === "nk" ? [n, k] : [k, n], "f32", wh);
    const b = withBias ? uploadTensor(gpu, [n], "f32", bh) : undefined;
    const rec = gpu.kernels.recorder();
    const y = recordLinear(gpu, rec, x, w, b, { weightLayout: layout });
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    const want = linearRef(xh, wh, withBias ? bh : undefined, m, k, n, layout);
    assertClose(got, want, TOL, `linear ${layout} ${m}x${k}x${n}`);
    for (const t of [x, w, b, y]) t?.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("linear matches its reference for both weight layouts and ragged shapes", async () => {
  await checkLinear(74, 30, 21, "nk", true); // M, N, K not multiples of the block
  await checkLinear(64, 64, 48, "kn", false);
  await checkLinear(40, 13, 3, "nk", false); // a 3-output classifier
});

Deno.test("linear's vec4 variant: aligned K with ragged rows and columns, and its fallbacks", async () => {
  await checkLinear(74, 32, 21, "nk", true); // "nt", vec4: K % 4 == 0, N clamped per column
  await checkLinear(38, 36, 32, "kn", true); // "nn", vec4: N % 16 == 0
  await checkLinear(38, 36, 20, "kn", true); // "nn" with N % 16 != 0: scalar loads
  await checkLinear(34, 200, 40, "nk", true, 4096); // windows whose bases may fall off a vec4
});

Deno.test("linear splits rows, columns and K under a small binding limit", async () => {
  // x is 34 x 200 floats (27 KB), W 40 x 200: forces row, column and K chunks.
  await checkLinear(34, 200, 40, "nk", true, 4096);
  await checkLinear(34, 200, 40, "kn", true, 4096);
});

async function checkConv1x1(
  batch: number,
  ci: number,
  co: number,
  hw: number,
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const xh = rand(batch * ci * hw), wh = rand(co * ci), bh = rand(co);
    const x = uploadTensor(gpu, [batch, ci, hw / 4, 4], "f32", xh);
    const w = uploadTensor(gpu, [co, ci, 1, 1], "f32", wh);
    const b = uploadTensor(gpu, [co], "f32", bh);
    const rec = gpu.kernels.recorder();
    const y = recordConv1x1(gpu, rec, x, w, b);
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    assertClose(got, conv1x1Ref(xh, wh, bh, batch, ci, co, hw), TOL, `conv1x1 ${ci}->${co}`);
    for (const t of [x, w, b, y]) t.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("conv1x1 on channels-first images matches its reference", async () => {
  await checkConv1x1(2, 24, 19, 36);
  await checkConv1x1(1, 16, 3, 20); // classifier: few output channels
});

Deno.test("conv1x1 accumulates K chunks under a small binding limit", async () => {
  // One batch item of x is 96 x 64 floats (24 KB): channel chunks accumulate.
  await checkConv1x1(2, 96, 20, 64, 4096);
});

Deno.test("linear in float16 storage (shader-f16) matches the float32 reference", async () => {
  const gpu = await getGpu();
  if (!gpu.device.features.has("shader-f16")) {
    console.log("skipped: the adapter has no shader-f16");
    return;
  }
  for (
    const [m, k, n, layout] of [[74, 32, 21, "nk"], [64, 64, 48, "kn"], [40, 30, 3, "nk"]] as const
  ) {
    const xh = rand(m * k), wh = rand(n * k);
    const half = (a: Float32Array) => new Uint16Array(new Float16Array(a).buffer);
    const x = uploadTensor(gpu, [m, k], "f16", half(xh));
    const w = uploadTensor(gpu, layout === "nk" ? [n, k] : [k, n], "f16", half(wh));
    const rec = gpu.kernels.recorder();
    const y = recordLinear(gpu, rec, x, w, undefined, { weightLayout: layout });
    rec.submit();
    const got = new Float32Array(new Float16Array((await downloadTensor(y) as Uint16Array).buffer));
    // f16 rounds each input and the output to 11 significant bits (relative 2^-11): a product
    // is off by about 1e-3 of its size, a sum of K of them by about 1e-3 sqrt(K) of one; sums stay f32.
    const want = linearRef(xh, wh, undefined, m, k, n, layout);
    assertClose(got, want, { atol: 1e-3 * Math.sqrt(k), rtol: 2e-3 }, `f16 linear ${m}x${k}x${n}`);
    for (const u of [x, w, y]) u.release();
  }
});
