import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, emptyTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordBceDiceLoss } from "./mod.ts";
import { bceDiceRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/train_grads.safetensors", import.meta.url),
);

async function gpuLoss(shape: number[], z: Float32Array, t: Float32Array, masked = false) {
  const gpu = await getGpu();
  const zt = uploadTensor(gpu, shape, "f32", z);
  const tt = uploadTensor(gpu, shape, "f32", t);
  const out = emptyTensor(gpu, [4], "f32");
  const rec = gpu.kernels.recorder("loss test");
  const g = recordBceDiceLoss(gpu, rec, zt, tt, { out, index: 2, masked });
  rec.submit();
  const grad = await downloadTensor(g) as Float32Array;
  const loss = (await downloadTensor(out) as Float32Array)[2];
  for (const x of [zt, tt, out, g]) x.release();
  return { loss, grad };
}

Deno.test("loss and gradient match PyTorch (BCE + smp Dice; binary, multilabel, no positives, masked)", async () => {
  const dict = await readSafetensors(FIXTURE);
  for (const name of ["binary", "multilabel", "empty", "masked"]) {
    const z = dict.get(`loss.${name}.z`)!;
    const { loss, grad } = await gpuLoss(
      [...z.shape],
      await z.data(),
      await dict.get(`loss.${name}.t`)!.data(),
      name === "masked",
    );
    const want = (await dict.get(`loss.${name}.loss`)!.data())[0];
    assert.ok(Math.abs(loss - want) <= 1e-6 * Math.abs(want) + 1e-7, `${name}: ${loss} vs ${want}`);
    const wantGrad = await dict.get(`loss.${name}.grad`)!.data();
    const scale = wantGrad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    assertClose(grad, wantGrad, { atol: 1e-5 * scale, rtol: 1e-4 }, `${name} grad`);
  }
});

Deno.test("loss matches the float64 reference on a larger batch (several chunks per plane)", async () => {
  const shape = [3, 2, 40, 70];
  const n = shape.reduce((a, b) => a * b);
  const z = new Float32Array(n).map(() => (Math.random() - 0.5) * 8);
  const t = new Float32Array(n).map(() => Math.random() < 0.2 ? 1 : 0);
  const { loss, grad } = await gpuLoss(shape, z, t);
  const ref = bceDiceRef(z, t, 3, 2);
  assert.ok(Math.abs(loss - ref.loss) < 1e-5 * ref.loss, `${loss} vs ${ref.loss}`);
  const scale = ref.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(grad, ref.grad, { atol: 1e-5 * scale, rtol: 1e-3 }, "grad");
});

Deno.test("masked loss matches the float64 reference; pixels outside the mask get no gradient", async () => {
  const shape = [3, 1, 40, 70];
  const n = shape.reduce((a, b) => a * b);
  const z = new Float32Array(n).map(() => (Math.random() - 0.5) * 8);
  const t = new Float32Array(n).map(() => Math.random() < 0.3 ? 0 : Math.random() < 0.2 ? 2 : 1);
  const { loss, grad } = await gpuLoss(shape, z, t, true);
  const ref = bceDiceRef(z, t, 3, 1, 0.5, 0.5, true);
  assert.ok(Math.abs(loss - ref.loss) < 1e-5 * ref.loss, `${loss} vs ${ref.loss}`);
  const scale = ref.grad.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(grad, ref.grad, { atol: 1e-5 * scale, rtol: 1e-3 }, "grad");
  assert.ok(t.every((v, i) => v !== 0 || grad[i] === 0));
  // All pixels in the mask: the seed's loss with 0/1 targets.
  const inside = await gpuLoss(shape, z, t.map((v) => v === 2 ? 2 : 1), true);
  const plain = await gpuLoss(shape, z, t.map((v) => v === 2 ? 1 : 0));
  assert.ok(Math.abs(inside.loss - plain.loss) < 1e-6 * plain.loss);
});
