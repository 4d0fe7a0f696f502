import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordChannelSum } from "../reduce/mod.ts";
import {
  type Conv2dBackwardOptions,
  recordConv2dBackwardInput,
  recordConv2dBackwardWeight,
} from "./mod.ts";
import {
  conv2dBackwardInputRef,
  type Conv2dBackwardRefShape,
  conv2dBackwardWeightRef,
} from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/conv_grads.safetensors", import.meta.url)
  .pathname;

function rand(n: number): Float32Array {
  return new Float32Array(n).map(() => Math.random() * 2 - 1);
}

/** Compares with atol scaled to the expected magnitude; returns the max error relative to it. */
function close(got: Float32Array, want: ArrayLike<number>, what: string): number {
  let peak = 0;
  for (let i = 0; i < want.length; i++) peak = Math.max(peak, Math.abs(want[i]));
  const c = assertClose(got, want, { atol: 1e-4 * peak, rtol: 1e-3 }, what);
  const rel = c.maxAbsError / peak;
  if (Deno.env.get("VERBOSE")) {
    console.log(`${what}: max error ${rel.toExponential(2)} of max |expected|`);
  }
  return rel;
}

async function run(
  x: GpuTensor,
  w: GpuTensor,
  dy: GpuTensor,
  o: Conv2dBackwardOptions,
  withBias = false,
): Promise<{ dx: Float32Array; dw: Float32Array; db?: Float32Array }> {
  const gpu = x.gpu;
  const rec = gpu.kernels.recorder();
  const dx = recordConv2dBackwardInput(gpu, rec, dy, w, x.shape, o);
  const dw = recordConv2dBackwardWeight(gpu, rec, x, dy, w.shape, o);
  const [n, co, ho, wo] = dy.shape;
  const db = withBias ? recordChannelSum(gpu, rec, dy, n, co, ho * wo) : undefined;
  rec.submit();
  const out = {
    dx: await downloadTensor(dx) as Float32Array,
    dw: await downloadTensor(dw) as Float32Array,
    db: db ? await downloadTensor(db) as Float32Array : undefined,
  };
  if (dx.shape.join() !== x.shape.join() || dw.shape.join() !== w.shape.join()) {
    throw new Error(`gradient shapes ${dx} ${dw} do not match ${x} ${w}`);
  }
  for (const t of [dx, dw, db]) t?.release();
  return out;
}

const FIXTURES: [string, Conv2dBackwardOptions][] = [
  ["c2_k7s4p3", { stride: [4, 4], padding: [3, 3], groups: 1 }],
  ["c2_k3s2p1", { stride: [2, 2], padding: [1, 1], groups: 1 }],
  ["c2_sr8", { stride: [8, 8], padding: [0, 0], groups: 1 }],
  ["c2_sr4", { stride: [4, 4], padding: [0, 0], groups: 1 }],
  ["c2_sr2", { stride: [2, 2], padding: [0, 0], groups: 1 }],
  ["c2_dw3", { stride: [1, 1], padding: [1, 1], groups: 8 }],
];

Deno.test("conv2d backward matches PyTorch (dense 7x7 s4, 3x3 s2, k = s = 8/4/2, depthwise)", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  for (const [name, o] of FIXTURES) {
    const load = async (k: string) => {
      const t = dict.get(`${name}.${k}`)!;
      return { shape: t.shape, data: await t.data() };
    };
    const [x, w, dy, dx, dw, db] = await Promise.all(
      ["x", "w", "dy", "dx", "dw", "db"].map(load),
    );
    const xt = uploadTensor(gpu, x.shape, "f32", x.data);
    const wt = uploadTensor(gpu, w.shape, "f32", w.data);
    const dyt = uploadTensor(gpu, dy.shape, "f32", dy.data);
    const got = await run(xt, wt, dyt, o, true);
    close(got.dx, dx.data, `${name} dx`);
    close(got.dw, dw.data, `${name} dw`);
    close(got.db!, db.data, `${name} db`);
    // The TS reference agrees with PyTorch too.
    const [n, ci, h, wd] = x.shape;
    const [co, , kh, kw] = w.shape;
    const s: Conv2dBackwardRefShape = { n, ci, h, w: wd, co, kh, kw, ...o };
    close(conv2dBackwardInputRef(dy.data, w.data, s), dx.data, `${name} dx ref`);
    close(conv2dBackwardWeightRef(x.data, dy.data, s), dw.data, `${name} dw ref`);
    for (const t of [xt, wt, dyt]) t.release();
  }
});

async function checkRandom(s: Conv2dBackwardRefShape): Promise<void> {
  const gpu = await getGpu();
  const ho = Math.floor((s.h + 2 * s.padding[0] - s.kh) / s.stride[0]) + 1;
  const wo = Math.floor((s.w + 2 * s.padding[1] - s.kw) / s.stride[1]) + 1;
  const xh = rand(s.n * s.ci * s.h * s.w);
  const wh = rand(s.co * (s.ci / s.groups) * s.kh * s.kw);
  const dyh = rand(s.n * s.co * ho * wo);
  const x = uploadTensor(gpu, [s.n, s.ci, s.h, s.w], "f32", xh);
  const w = uploadTensor(gpu, [s.co, s.ci / s.groups, s.kh, s.kw], "f32", wh);
  const dy = uploadTensor(gpu, [s.n, s.co, ho, wo], "f32", dyh);
  const got = await run(x, w, dy, s);
  const what = `conv2d ${s.ci}->${s.co} k${s.kh}x${s.kw} s${s.stride} p${s.padding} g${s.groups}`;
  close(got.dx, conv2dBackwardInputRef(dyh, wh, s), `${what} dx`);
  close(got.dw, conv2dBackwardWeightRef(xh, dyh, s), `${what} dw`);
  for (const t of [x, w, dy]) t.release();
}

Deno.test("conv2d backward matches its reference on odd shapes, groups and long reductions", async () => {
  // Non-square stride and padding, channel counts that are not multiples of 4.
  await checkRandom({
    n: 2,
    ci: 5,
    h: 11,
    w: 9,
    co: 7,
    kh: 3,
    kw: 5,
    stride: [2, 3],
    padding: [1, 2],
    groups: 1,
  });
  // Grouped (2 groups of 3 -> 2) and depthwise with stride 2.
  await checkRandom({
    n: 1,
    ci: 6,
    h: 10,
    w: 10,
    co: 4,
    kh: 3,
    kw: 3,
    stride: [1, 1],
    padding: [1, 1],
    groups: 2,
  });
  await checkRandom({
    n: 2,
    ci: 5,
    h: 9,
    w: 12,
    co: 5,
    kh: 3,
    kw: 3,
    stride: [2, 2],
    padding: [1, 1],
    groups: 5,
  });
  // A long reduction (2 x 64 x 64 positions) over a small weight: split into partial sums.
  await checkRandom({
    n: 2,
    ci: 2,
    h: 64,
    w: 64,
    co: 3,
    kh: 3,
    kw: 3,
    stride: [1, 1],
    padding: [1, 1],
    groups: 1,
  });
});

Deno.test("conv2d backward refuses mismatched shapes and tensors over the binding limit", async () => {
  const gpu = await getGpu();
  const x = uploadTensor(gpu, [1, 2, 8, 8], "f32", rand(128));
  const w = uploadTensor(gpu, [3, 2, 3, 3], "f32", rand(54));
  const dy = uploadTensor(gpu, [1, 3, 8, 8], "f32", rand(192));
  const rec = gpu.kernels.recorder();
  const o: Conv2dBackwardOptions = { stride: [2, 2], padding: [1, 1], groups: 1 };
  let msg = "";
  try {
    recordConv2dBackwardInput(gpu, rec, dy, w, x.shape, o);
  } catch (e) {
    msg = (e as Error).message;
  }
  if (!msg.includes("conv2d backward input: dy f32[1,3,8,8] should have shape [1,3,4,4]")) {
    throw new Error(`unexpected error: ${msg}`);
  }
  const saved = gpu.maxBinding;
  gpu.maxBinding = 256;
  try {
    recordConv2dBackwardWeight(gpu, rec, x, dy, w.shape, { ...o, stride: [1, 1] });
    msg = "";
  } catch (e) {
    msg = (e as Error).message;
  } finally {
    gpu.maxBinding = saved;
  }
  if (!msg.includes("conv2d backward weight: x f32[1,2,8,8]") || !msg.includes("binding limit")) {
    throw new Error(`unexpected error: ${msg}`);
  }
  for (const t of [x, w, dy]) t.release();
});
