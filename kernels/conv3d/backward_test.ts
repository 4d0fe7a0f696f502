import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordChannelSum } from "../reduce/mod.ts";
import {
  type Conv3dBackwardOptions,
  recordConv3dBackwardInput,
  recordConv3dBackwardWeight,
} from "./mod.ts";
import { conv3dBackwardInputRef, conv3dBackwardWeightRef, type Conv3dRefArgs } from "./ref.ts";

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
  o: Conv3dBackwardOptions,
  withBias = false,
): Promise<{ dx: Float32Array; dw: Float32Array; db?: Float32Array }> {
  const gpu = x.gpu;
  const rec = gpu.kernels.recorder();
  const dx = recordConv3dBackwardInput(gpu, rec, dy, w, x.shape, o);
  const dw = recordConv3dBackwardWeight(gpu, rec, x, dy, w.shape, o);
  const [n, co, ...rest] = dy.shape;
  const db = withBias
    ? recordChannelSum(gpu, rec, dy, n, co, rest.reduce((a, b) => a * b, 1))
    : undefined;
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

const t3 = (v: number): [number, number, number] => [v, v, v];

const FIXTURES: [string, Conv3dBackwardOptions, boolean][] = [
  ["c3_k3", { stride: t3(1), padding: t3(1) }, true],
  ["c3_k1", { stride: t3(1), padding: t3(0) }, true],
  ["c3_k3s2", { stride: t3(2), padding: t3(1) }, false],
  ["c3_k16", { stride: t3(16), padding: t3(0) }, true],
];

Deno.test("conv3d backward matches PyTorch (3x3x3 s1 p1, 1x1x1, 3x3x3 s2 p1, k = s = 16)", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  for (const [name, o, bias] of FIXTURES) {
    const load = async (k: string) => {
      const t = dict.get(`${name}.${k}`)!;
      return { shape: t.shape, data: await t.data() };
    };
    const [x, w, dy, dx, dw] = await Promise.all(["x", "w", "dy", "dx", "dw"].map(load));
    const xt = uploadTensor(gpu, x.shape, "f32", x.data);
    const wt = uploadTensor(gpu, w.shape, "f32", w.data);
    const dyt = uploadTensor(gpu, dy.shape, "f32", dy.data);
    const got = await run(xt, wt, dyt, o, bias);
    close(got.dx, dx.data, `${name} dx`);
    close(got.dw, dw.data, `${name} dw`);
    if (bias) close(got.db!, (await load("db")).data, `${name} db`);
    const args: Conv3dRefArgs = { x: x.shape, w: w.shape, ...o };
    close(conv3dBackwardInputRef(dy.data, w.data, args), dx.data, `${name} dx ref`);
    close(conv3dBackwardWeightRef(x.data, dy.data, args), dw.data, `${name} dw ref`);
    for (const t of [xt, wt, dyt]) t.release();
  }
});

async function checkRandom(
  xShape: [number, number, number, number, number],
  wShape: [number, number, number, number, number],
  o: Conv3dBackwardOptions,
): Promise<void> {
  const gpu = await getGpu();
  const args: Conv3dRefArgs = { x: xShape, w: wShape, ...o };
  const out = [0, 1, 2].map((i) =>
    Math.floor((xShape[2 + i] + 2 * o.padding[i] - wShape[2 + i]) / o.stride[i]) + 1
  );
  const yShape = [xShape[0], wShape[0], ...out];
  const xh = rand(xShape.reduce((a, b) => a * b, 1));
  const wh = rand(wShape.reduce((a, b) => a * b, 1));
  const dyh = rand(yShape.reduce((a, b) => a * b, 1));
  const x = uploadTensor(gpu, xShape, "f32", xh);
  const w = uploadTensor(gpu, wShape, "f32", wh);
  const dy = uploadTensor(gpu, yShape, "f32", dyh);
  const got = await run(x, w, dy, o);
  const what = `conv3d [${xShape}] * [${wShape}] s${o.stride} p${o.padding}`;
  close(got.dx, conv3dBackwardInputRef(dyh, wh, args), `${what} dx`);
  close(got.dw, conv3dBackwardWeightRef(xh, dyh, args), `${what} dw`);
  for (const t of [x, w, dy]) t.release();
}

Deno.test("conv3d backward matches its reference: anisotropic, long reductions", async () => {
  await checkRandom([1, 3, 5, 6, 7], [5, 3, 2, 3, 4], { stride: [1, 2, 3], padding: [1, 0, 2] });
  // 1 -> 4 channels: 108 weights, a 2 x 8 x 32 x 32 reduction split into partial sums.
  await checkRandom([2, 1, 8, 32, 32], [4, 1, 3, 3, 3], { stride: t3(1), padding: t3(1) });
  // Patch embedding with more output channels than one block.
  await checkRandom([2, 1, 16, 16, 16], [9, 1, 8, 8, 8], { stride: t3(8), padding: t3(0) });
});

Deno.test("conv3d backward input: 3x3x3 stride 1 runs the forward kernel on flipped weights", async () => {
  // Paddings 0, 1 and 2, channel counts across weight blocks (4 and 8), several batch items.
  await checkRandom([2, 5, 4, 9, 11], [12, 5, 3, 3, 3], { stride: t3(1), padding: t3(1) });
  await checkRandom([1, 16, 6, 8, 8], [3, 16, 3, 3, 3], { stride: t3(1), padding: [0, 2, 1] });
  await checkRandom([3, 2, 3, 5, 6], [1, 2, 3, 3, 3], { stride: t3(1), padding: t3(2) });
});
