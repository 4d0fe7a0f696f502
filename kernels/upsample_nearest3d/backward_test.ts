import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordUpsampleNearest3dBackward } from "./mod.ts";
import { upsampleNearest3dBackwardRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/norm_grads.safetensors", import.meta.url);

/** The fixture's input shapes (tests/fixtures/grads/gen_norm_grads.py, UP_CASES). */
const INPUTS = [[2, 3, 2, 4, 5], [1, 2, 3, 5, 4], [1, 1, 6, 7, 9]];

/** Compares with a tolerance scaled to the expected values' magnitude (1e-3 relative). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]));
  assertClose(got, want, { atol: 1e-4 * max, rtol: 1e-3 }, what);
}

Deno.test("upsample_nearest3d backward matches PyTorch for 2x, odd and shrinking sizes", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE.pathname);
  for (const [k, shape] of INPUTS.entries()) {
    const t = dict.get(`up${k}.dy`)!;
    const dy = uploadTensor(gpu, t.shape, "f32", await t.data());
    const rec = gpu.kernels.recorder("test");
    const dx = recordUpsampleNearest3dBackward(gpu, rec, dy, shape);
    rec.submit();
    assert.deepEqual(dx.shape, shape);
    const got = await downloadTensor(dx) as Float32Array;
    close(got, await dict.get(`up${k}.dx`)!.data(), `up${k} [${t.shape}] -> [${shape}]`);
    dy.release();
    dx.release();
  }
});

Deno.test("upsample_nearest3d backward matches the reference on ragged ratios", async () => {
  const gpu = await getGpu();
  const cases: [number[], [number, number, number]][] = [
    [[1, 2, 3, 7, 5], [8, 10, 5]], // 8/3, 10/7, identity
    [[2, 1, 5, 9, 11], [2, 4, 3]], // shrinking: some inputs receive nothing
    [[1, 1, 4, 4, 4], [12, 13, 9]],
  ];
  for (const [shape, size] of cases) {
    const out = [shape[0], shape[1], ...size];
    const dys = new Float32Array(out.reduce((a, b) => a * b)).map(() => Math.random() * 2 - 1);
    const dy = uploadTensor(gpu, out, "f32", dys);
    const rec = gpu.kernels.recorder("test");
    const dx = recordUpsampleNearest3dBackward(gpu, rec, dy, shape);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    close(got, upsampleNearest3dBackwardRef(dys, shape, size), `[${shape}] -> [${size}]`);
    dy.release();
    dx.release();
  }
});
