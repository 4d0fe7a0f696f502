import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordChannelSum } from "./mod.ts";
import { channelSumRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/conv_grads.safetensors", import.meta.url)
  .pathname;

async function check(x: Float32Array, outer: number, channels: number, inner: number) {
  const gpu = await getGpu();
  const t = uploadTensor(gpu, [outer, channels, inner], "f32", x);
  const rec = gpu.kernels.recorder();
  const y = recordChannelSum(gpu, rec, t, outer, channels, inner);
  rec.submit();
  const got = await downloadTensor(y) as Float32Array;
  if (y.shape.join() !== String(channels)) throw new Error(`shape ${y} is not [${channels}]`);
  // Tolerance relative to the sum of magnitudes: what f32 summation can promise.
  const mag = channelSumRef(x.map(Math.abs), outer, channels, inner);
  const scale = Math.max(...mag);
  const c = assertClose(got, channelSumRef(x, outer, channels, inner), {
    atol: 1e-6 * scale,
    rtol: 1e-5,
  }, `channel_sum (${outer}, ${channels}, ${inner})`);
  if (Deno.env.get("VERBOSE")) {
    console.log(`(${outer}, ${channels}, ${inner}): max error ${c.maxAbsError / scale} of sum |x|`);
  }
  t.release();
  y.release();
}

function rand(n: number, mean = 0): Float32Array {
  return new Float32Array(n).map(() => Math.random() * 2 - 1 + mean);
}

Deno.test("channel_sum matches its reference for conv and linear views", async () => {
  await check(rand(2 * 5 * 37), 2, 5, 37); // conv bias: (N, C, S)
  await check(rand(300 * 7), 300, 7, 1); // linear rows (R, C)
  await check(rand(3 * 1 * 5), 3, 1, 5);
  await check(rand(1 * 9 * 1), 1, 9, 1);
});

Deno.test("channel_sum stays accurate over ~10^6-long reductions (several passes)", async () => {
  // 4 channels x (2 x 2^19): partial sums of 1024 values, then a second and third pass.
  await check(rand(2 * 4 * 2 ** 19, 0.5), 2, 4, 2 ** 19);
  // 2^20 rows of 3 channels.
  await check(rand(2 ** 20 * 3, 1), 2 ** 20, 3, 1);
});

Deno.test("channel_sum reproduces PyTorch's conv bias gradients", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  for (const name of ["c2_k7s4p3", "c2_dw3", "c3_k3", "t2_c3", "t3_a"]) {
    const dy = dict.get(`${name}.dy`)!;
    const want = await dict.get(`${name}.db`)!.data();
    const [n, c, ...rest] = dy.shape;
    const t = uploadTensor(gpu, dy.shape, "f32", await dy.data());
    const rec = gpu.kernels.recorder();
    const y = recordChannelSum(gpu, rec, t, n, c, rest.reduce((a, b) => a * b, 1));
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    const peak = Math.max(...want.map(Math.abs));
    assertClose(got, want, { atol: 1e-4 * peak, rtol: 1e-3 }, `${name} db`);
    t.release();
    y.release();
  }
});
