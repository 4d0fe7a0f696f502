import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordMaxPool3dBackward } from "./mod.ts";
import { maxPool3dBackwardRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/norm_grads.safetensors", import.meta.url);

Deno.test("max_pool3d backward matches PyTorch (odd sizes, ties to the first maximum)", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE.pathname);
  for (const name of ["pool", "pool_ties"]) {
    const [x, dy] = await Promise.all(["x", "dy"].map(async (k) => {
      const t = dict.get(`${name}.${k}`)!;
      return uploadTensor(gpu, t.shape, "f32", await t.data());
    }));
    // A pooled buffer with stale contents: the uncovered rows must still come back zero.
    const stale = uploadTensor(gpu, x.shape, "f32", new Float32Array(x.size).fill(7));
    stale.release();
    const rec = gpu.kernels.recorder("test");
    const dx = recordMaxPool3dBackward(gpu, rec, x, dy);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    assertClose(got, await dict.get(`${name}.dx`)!.data(), { atol: 0, rtol: 0 }, `${name} dx`);
    for (const t of [x, dy, dx]) t.release();
  }
});

Deno.test("max_pool3d backward matches the reference", async () => {
  const gpu = await getGpu();
  for (const shape of [[2, 3, 4, 6, 8], [1, 2, 3, 5, 7]]) {
    const [n, c, d, h, w] = shape;
    const pooled = [n, c, d >> 1, h >> 1, w >> 1];
    const xs = new Float32Array(shape.reduce((a, b) => a * b)).map(() => Math.random());
    const dys = new Float32Array(pooled.reduce((a, b) => a * b)).map(() => Math.random() - 0.5);
    const x = uploadTensor(gpu, shape, "f32", xs);
    const dy = uploadTensor(gpu, pooled, "f32", dys);
    const rec = gpu.kernels.recorder("test");
    const dx = recordMaxPool3dBackward(gpu, rec, x, dy);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    assertClose(got, maxPool3dBackwardRef(xs, dys, shape), { atol: 0, rtol: 0 }, `${shape}`);
    assert.throws(() => recordMaxPool3dBackward(gpu, rec, x, x), /does not match/);
    for (const t of [x, dy, dx]) t.release();
  }
});
