import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordConcat, recordSplitChannels } from "./mod.ts";
import { splitChannelsRef } from "./ref.ts";

Deno.test("split_channels is the inverse of concat, per batch item", async () => {
  const gpu = await getGpu();
  const [n, spatial] = [3, [2, 5, 7]];
  const plane = spatial.reduce((a, b) => a * b);
  const channels = [2, 5, 1];
  const total = 8;
  const ys = new Float32Array(n * total * plane).map(() => Math.random() * 2 - 1);
  const dy = uploadTensor(gpu, [n, total, ...spatial], "f32", ys);
  const rec = gpu.kernels.recorder("test");
  const pieces = recordSplitChannels(gpu, rec, dy, channels);
  const back = recordConcat(gpu, rec, pieces);
  rec.submit();
  const want = splitChannelsRef(ys, channels, n, plane);
  for (const [i, p] of pieces.entries()) {
    assert.deepEqual(p.shape, [n, channels[i], ...spatial]);
    assertClose(await downloadTensor(p) as Float32Array, want[i], { atol: 0, rtol: 0 }, `${i}`);
  }
  assertClose(await downloadTensor(back) as Float32Array, ys, { atol: 0, rtol: 0 }, "round trip");
  assert.throws(() => recordSplitChannels(gpu, rec, dy, [2, 5]), /do not split/);
  for (const t of [dy, back, ...pieces]) t.release();
});

Deno.test("split_channels handles 4D tensors and a single piece", async () => {
  const gpu = await getGpu();
  const ys = new Float32Array(2 * 3 * 4 * 5).map(() => Math.random());
  const dy = uploadTensor(gpu, [2, 3, 4, 5], "f32", ys);
  const rec = gpu.kernels.recorder("test");
  const [a, b] = recordSplitChannels(gpu, rec, dy, [1, 2]);
  const [all] = recordSplitChannels(gpu, rec, dy, [3]);
  rec.submit();
  const want = splitChannelsRef(ys, [1, 2], 2, 20);
  assertClose(await downloadTensor(a) as Float32Array, want[0], { atol: 0, rtol: 0 }, "a");
  assertClose(await downloadTensor(b) as Float32Array, want[1], { atol: 0, rtol: 0 }, "b");
  assertClose(await downloadTensor(all) as Float32Array, ys, { atol: 0, rtol: 0 }, "all");
  for (const t of [dy, a, b, all]) t.release();
});
