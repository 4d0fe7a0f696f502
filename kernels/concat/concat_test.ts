import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordConcat } from "./mod.ts";
import { concatRef } from "./ref.ts";

Deno.test("concat joins channels in the given order, per batch item", async () => {
  const gpu = await getGpu();
  const [n, spatial] = [3, [2, 5, 7]];
  const plane = spatial.reduce((a, b) => a * b);
  const channels = [2, 5, 1];
  const data = channels.map((c) =>
    new Float32Array(n * c * plane).map(() => Math.random() * 2 - 1)
  );
  const tensors = channels.map((c, i) => uploadTensor(gpu, [n, c, ...spatial], "f32", data[i]));
  const rec = gpu.kernels.recorder("test");
  const y = recordConcat(gpu, rec, tensors);
  const swapped = recordConcat(gpu, rec, [tensors[1], tensors[0]]);
  rec.submit();
  assert.deepEqual(y.shape, [n, 8, ...spatial]);
  const got = await downloadTensor(y) as Float32Array;
  const want = concatRef(data.map((d, i) => ({ data: d, channels: channels[i] })), n, plane);
  assertClose(got, want, { atol: 0, rtol: 0 }, "concat");
  const got2 = await downloadTensor(swapped) as Float32Array;
  const want2 = concatRef(
    [{ data: data[1], channels: 5 }, { data: data[0], channels: 2 }],
    n,
    plane,
  );
  assertClose(got2, want2, { atol: 0, rtol: 0 }, "concat (up, skip)");
  for (const t of [...tensors, y, swapped]) t.release();
});

Deno.test("concat needs no binding windows: copies ignore the binding limit", async () => {
  const gpu = await getGpu();
  const xs = new Float32Array(2 * 3 * 64).map(() => Math.random());
  const x = uploadTensor(gpu, [2, 3, 4, 4, 4], "f32", xs);
  const saved = gpu.maxBinding;
  gpu.maxBinding = 256; // smaller than one input
  const rec = gpu.kernels.recorder("test");
  let y;
  try {
    y = recordConcat(gpu, rec, [x, x]);
  } finally {
    gpu.maxBinding = saved;
  }
  rec.submit();
  const got = await downloadTensor(y) as Float32Array;
  const want = concatRef([{ data: xs, channels: 3 }, { data: xs, channels: 3 }], 2, 64);
  assertClose(got, want, { atol: 0, rtol: 0 }, "concat");
  x.release();
  y.release();
});

Deno.test("concat rejects mismatched spatial shapes", async () => {
  const gpu = await getGpu();
  const a = uploadTensor(gpu, [1, 1, 2, 2, 2], "f32", new Float32Array(8));
  const b = uploadTensor(gpu, [1, 1, 2, 2, 3], "f32", new Float32Array(12));
  assert.throws(() => recordConcat(gpu, gpu.kernels.recorder(), [a, b]), /does not match/);
  a.release();
  b.release();
});
