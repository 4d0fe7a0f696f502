/**
 * Learning parity with PyTorch (tests/fixtures/grads/gen_family_grads.py):
 * from the same random-weight CNN3D + SegFormer checkpoint, fed the same
 * fixed sequence of tiles (no augmentation), 50 AdamW steps (lr 1e-4,
 * weight decay 0.01, gradient-norm clip 100) of the seed's loss give a loss
 * within 1e-3 relative of PyTorch's at every step and final weights within
 * 1e-3 relative L2.
 */

import assert from "node:assert/strict";
import { loadCheckpoint, readSafetensors } from "../data/checkpoint/mod.ts";
import { getGpu } from "../kernels/device.ts";
import { compareArrays } from "../kernels/compare.ts";
import { downloadTensor, emptyTensor, uploadTensor } from "../kernels/tensor.ts";
import { recordBceDiceLoss } from "../kernels/loss/mod.ts";
import { AdamW } from "../kernels/optim/mod.ts";
import { TrainModel } from "./model.ts";
import { Tape } from "./tape.ts";
import { GRADS, NETWORKS, tinyConfig } from "./_testing.ts";

Deno.test("50 AdamW steps of CNN3D + SegFormer track PyTorch's losses and weights", async () => {
  const gpu = await getGpu();
  const fix = await readSafetensors(`${GRADS}parity.safetensors`);
  const inputs = fix.get("inputs")!, targets = fix.get("targets")!;
  const xs = await inputs.data(), ts = await targets.data();
  const [pool, ...xShape] = inputs.shape;
  const tShape = targets.shape.slice(1);
  const xSize = xs.length / pool, tSize = ts.length / pool;
  const want = await fix.get("losses")!.data();
  const steps = want.length;

  const model = await TrainModel.create(
    gpu,
    tinyConfig("cnn3d"),
    await loadCheckpoint(`${NETWORKS}cnn3d_b0tiny.pth`),
  );
  const opt = new AdamW(gpu, model.params, { weightDecay: 0.01, maxGradNorm: 100 });
  const losses = emptyTensor(gpu, [steps], "f32");
  for (let s = 0; s < steps; s++) {
    const k = s % pool;
    const x = uploadTensor(gpu, xShape, "f32", xs.subarray(k * xSize, (k + 1) * xSize));
    const t = uploadTensor(gpu, tShape, "f32", ts.subarray(k * tSize, (k + 1) * tSize));
    const rec = gpu.kernels.recorder("parity step");
    const tape = new Tape(gpu, rec, model.params);
    const logits = model.forward(tape.ops, x);
    tape.backward(logits, recordBceDiceLoss(gpu, rec, logits, t, { out: losses, index: s }));
    opt.step(rec, model.params.map((p) => tape.grad(p)!), 1e-4);
    rec.submit();
    tape.release();
    x.release();
    t.release();
  }
  const got = await downloadTensor(losses) as Float32Array;
  if (Deno.env.get("VERBOSE")) {
    console.log(Array.from(got, (g, s) => ((g - want[s]) / want[s]).toExponential(1)).join(" "));
  }
  for (let s = 0; s < steps; s++) {
    assert.ok(
      Math.abs(got[s] - want[s]) <= 1e-3 * want[s],
      `step ${s}: loss ${got[s]} vs PyTorch ${want[s]}`,
    );
  }
  // The whole weight vector within 1e-3 relative L2, and each tensor too,
  // except the biases whose gradient is zero in exact arithmetic (they feed
  // a batch-statistics BatchNorm: the decode head's linear_c biases, and the
  // last stage LayerNorm's bias through them): Adam turns their float-noise
  // gradients into lr-sized steps of either sign, in PyTorch as here.
  const noise = /decode_head\.linear_c\.\d\.proj\.bias$|encoder\.layer_norm\.3\.bias$/;
  let worst = { key: "", relL2: 0 };
  let diff2 = 0, norm2 = 0;
  for (const [key, t] of model.member.weights.entries()) {
    const w = fix.get(`final.${key}`);
    if (!w) continue;
    const a = await downloadTensor(t) as Float32Array, b = await w.data();
    for (let i = 0; i < a.length; i++) {
      diff2 += (a[i] - b[i]) ** 2;
      norm2 += b[i] ** 2;
    }
    const c = compareArrays(a, b);
    assert.ok(c.relL2 < (noise.test(key) ? 1e-2 : 1e-3), `${key}: relL2 ${c.relL2}`);
    if (!noise.test(key) && c.relL2 > worst.relL2) worst = { key, relL2: c.relL2 };
  }
  const total = Math.sqrt(diff2 / norm2);
  assert.ok(total < 1e-3, `final weights: relative L2 ${total}`);
  if (Deno.env.get("VERBOSE")) {
    console.log(
      `losses ${got[0]} -> ${got[steps - 1]}; weights relL2 ${total}, worst ${
        JSON.stringify(worst)
      }`,
    );
  }
  losses.release();
  opt.release();
  model.release();
});
