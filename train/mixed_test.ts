/**
 * Mixed precision against float32: the same tiny CNN3D + SegFormer, one
 * forward and backward of the seed's loss on a float32 tape and on a mixed
 * tape whose loss gradient is multiplied by a loss scale; the unscaled mixed
 * gradients match the float32 ones within float16's precision.
 */

import assert from "node:assert/strict";
import { loadCheckpoint, readSafetensors } from "../data/checkpoint/mod.ts";
import { getGpu } from "../kernels/device.ts";
import { compareArrays } from "../kernels/compare.ts";
import { downloadTensors, emptyTensor, type GpuTensor, uploadTensor } from "../kernels/tensor.ts";
import { recordBceDiceLoss } from "../kernels/loss/mod.ts";
import { AdamW } from "../kernels/optim/mod.ts";
import { TrainModel } from "./model.ts";
import { Tape } from "./tape.ts";
import { GRADS, NETWORKS, tinyConfig } from "./_testing.ts";

Deno.test("mixed precision: scaled float16 linear layers give float32's gradients within f16 precision", async () => {
  const gpu = await getGpu();
  if (!gpu.device.features.has("shader-f16")) {
    console.log("skipped: the adapter has no shader-f16");
    return;
  }
  const fix = await readSafetensors(`${GRADS}family_grads.safetensors`);
  const input = fix.get("input")!, target = fix.get("target")!;
  const model = await TrainModel.create(
    gpu,
    tinyConfig("cnn3d"),
    await loadCheckpoint(`${NETWORKS}cnn3d_b0tiny.pth`),
  );
  const scale = 1024;
  const opt = new AdamW(gpu, model.params, { lossScale: { init: scale } });
  const run = async (mixed: boolean) => {
    const x = uploadTensor(gpu, input.shape, "f32", await input.data());
    const t = uploadTensor(gpu, target.shape, "f32", await target.data());
    const loss = emptyTensor(gpu, [1], "f32");
    const rec = gpu.kernels.recorder(mixed ? "mixed" : "f32");
    const tape = new Tape(gpu, rec, model.params, { mixed });
    const logits = model.forward(tape.ops, x);
    const gy = recordBceDiceLoss(gpu, rec, logits, t, { out: loss, index: 0 });
    if (mixed) opt.scaleLoss(rec, gy);
    tape.backward(logits, gy);
    rec.submit();
    const grads = await downloadTensors(gpu, model.params.map((p) => tape.grad(p)!));
    const [l] = await downloadTensors(gpu, [loss]);
    tape.release();
    for (const u of [x, t, loss]) u.release();
    return { grads: grads as Float32Array[], loss: (l as Float32Array)[0] };
  };
  const f32 = await run(false);
  const mixed = await run(true);
  // The loss sees f16 rounding of every linear layer's operands and outputs.
  assert.ok(Math.abs(mixed.loss - f32.loss) < 2e-3 * f32.loss, `loss ${mixed.loss} vs ${f32.loss}`);
  // As in tape_test.ts: gradients that are zero in exact arithmetic (a LayerNorm bias before a
  // Linear and a batch-statistics BatchNorm) are float noise, held to an absolute floor.
  const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const global = Math.max(...f32.grads.map(maxAbs));
  let linears = 0;
  model.names.forEach((name, i) => {
    const got = mixed.grads[i].map((v) => v / scale);
    if (maxAbs(f32.grads[i]) < 1e-5 * global) {
      assert.ok(maxAbs(got) < 1e-3 * global, `${name}: ${maxAbs(got)} where float32 has ~0`);
      return;
    }
    const c = compareArrays(got, f32.grads[i]);
    // 11 significant bits per rounding, a few roundings deep: about 1e-3 of each gradient.
    assert.ok(c.relL2 < 1e-2, `${name}: relL2 ${c.relL2}`);
    if (/\.(fc1|fc2|proj|q|kv)\.weight$/.test(name)) linears++;
  });
  assert.ok(linears > 0, "the tiny SegFormer has linear layers");
  opt.release();
  model.release();
});

Deno.test("mixed precision: a linear layer's output and gradients are float32's to f16 rounding", async () => {
  const gpu = await getGpu();
  if (!gpu.device.features.has("shader-f16")) {
    console.log("skipped: the adapter has no shader-f16");
    return;
  }
  let seed = 7;
  const rand = (n: number) =>
    Float32Array.from(
      { length: n },
      () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1,
    );
  // Rows over the vec4 path's alignment and not; enough rows that dW sums thousands of products.
  for (const [r, i, o] of [[37, 20, 12], [1024, 64, 256], [4096, 32, 32]]) {
    const host = [rand(r * i), rand(o * i), rand(o), rand(r * o)];
    const results: Float32Array[][] = [];
    for (const mixed of [false, true]) {
      const [x, w, b, g] = [[1, r, i], [o, i], [o], [1, r, o]].map((shape, k) =>
        uploadTensor(gpu, shape, "f32", host[k])
      );
      const rec = gpu.kernels.recorder();
      const tape = new Tape(gpu, rec, [x, w, b], { mixed });
      const y = tape.ops.linear(x, w, b);
      tape.backward(y, g);
      rec.submit();
      const outs: GpuTensor[] = [y, tape.grad(x)!, tape.grad(w)!, tape.grad(b)!];
      results.push(await downloadTensors(gpu, outs) as Float32Array[]);
      tape.release();
      for (const t of [x, w, b]) t.release();
    }
    ["y", "dx", "dw", "db"].forEach((name, k) => {
      // Inputs rounded to 11 significant bits, sums exact in f32: about 3e-4 relative.
      const c = compareArrays(results[1][k], results[0][k]);
      assert.ok(c.relL2 < 1e-3, `${r}x${i}x${o} ${name}: relL2 ${c.relL2}`);
    });
  }
});
