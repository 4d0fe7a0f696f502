/**
 * Whole-family gradients against PyTorch: the random-weight checkpoints of
 * the network fixtures, one training-mode forward and backward of the seed's
 * loss (tests/fixtures/grads/gen_family_grads.py, float64), every
 * parameter's gradient within 1e-3 relative (L2 per tensor, and elementwise
 * with an absolute floor scaled to the tensor) or within twice PyTorch's own
 * float32 error where that is larger (the 3D U-Net's), and the BatchNorm
 * running stats.
 */

import assert from "node:assert/strict";
import { loadCheckpoint, readSafetensors } from "../data/checkpoint/mod.ts";
import { getGpu } from "../kernels/device.ts";
import { compareArrays } from "../kernels/compare.ts";
import { downloadTensor, emptyTensor, uploadTensor } from "../kernels/tensor.ts";
import { recordBceDiceLoss, recordOneHot } from "../kernels/loss/mod.ts";
import { TrainModel } from "./model.ts";
import { Tape } from "./tape.ts";
import { GRADS, NETWORKS, tinyConfig } from "./_testing.ts";
import { initialWeights } from "./model.ts";
import { Rng } from "./rng.ts";
import { segformerConfig } from "../networks/segformer_config.ts";
import { type MemberConfig, memberConfig } from "../networks/families.ts";

const CASES = [
  ["cnn3d_b0tiny", "cnn3d"],
  ["unet3d_tiny", "unet3d"],
  ["unetr_mc_tiny", "unetr_mc"],
] as const;

for (const [caseName, family] of CASES) {
  Deno.test(`${family}: every parameter gradient matches PyTorch (train mode, seed loss)`, async () => {
    const gpu = await getGpu();
    const fix = await readSafetensors(`${GRADS}family_grads.safetensors`);
    const get = async (k: string) => {
      const t = fix.get(k);
      if (!t) throw new Error(`fixture has no ${k}`);
      return { shape: t.shape, data: await t.data() };
    };
    const model = await TrainModel.create(
      gpu,
      tinyConfig(family),
      await loadCheckpoint(`${NETWORKS}${caseName}.pth`),
    );
    const mc = family === "unetr_mc";
    const x = await get(mc ? "mc_input" : "input"), t = await get(mc ? "mc_classes" : "target");
    const xt = uploadTensor(gpu, x.shape, "f32", x.data);
    const rec = gpu.kernels.recorder("family grads");
    // The multiclass recipe's labels: one-hot of the 0/1/2 class map, on the GPU.
    const classes = uploadTensor(gpu, t.shape, "f32", t.data);
    const tt = mc ? recordOneHot(gpu, rec, classes, 3) : classes;
    const lossOut = emptyTensor(gpu, [1], "f32");
    const tape = new Tape(gpu, rec, model.params);
    const logits = model.forward(tape.ops, xt);
    const gy = recordBceDiceLoss(gpu, rec, logits, tt, { out: lossOut, index: 0 });
    tape.backward(logits, gy);
    rec.submit();

    const logitsWant = await get(`${caseName}.logits`);
    const lc = compareArrays(await downloadTensor(logits) as Float32Array, logitsWant.data);
    assert.ok(lc.relL2 < 1e-4, `logits relL2 ${lc.relL2}`);
    const loss = (await downloadTensor(lossOut) as Float32Array)[0];
    const lossWant = (await get(`${caseName}.loss`)).data[0];
    assert.ok(Math.abs(loss - lossWant) < 1e-5 * lossWant, `loss ${loss} vs ${lossWant}`);

    // Gradients that are zero in exact arithmetic (a LayerNorm bias followed
    // by a Linear and a batch-statistics BatchNorm) come out as float noise:
    // such tensors (max |g| under 1e-5 of the model's largest) are held to an
    // absolute floor instead of a relative error.
    // UNETR trains q, k and v split from the fused qkv weight: their gradients are its row blocks.
    const gradOf = async (k: string) => {
      const m = k.match(/^(.*\.attn\.)([qkv])\.weight$/);
      if (!m) return { ...(await get(`${caseName}.grad.${k}`)), err: `${caseName}.f32err.${k}` };
      const full = await get(`${caseName}.grad.${m[1]}qkv.weight`);
      const part = full.data.length / 3, j = "qkv".indexOf(m[2]);
      return {
        shape: [full.shape[0] / 3, full.shape[1]],
        data: full.data.slice(j * part, (j + 1) * part),
        err: `${caseName}.f32err.${m[1]}qkv.weight`,
      };
    };
    const wants = await Promise.all(model.names.map(gradOf));
    const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const global = Math.max(...wants.map((w) => maxAbs(w.data)));
    let worst = { key: "", relL2: 0 };
    const bad: string[] = [];
    for (let i = 0; i < model.params.length; i++) {
      const key = model.names[i], want = wants[i];
      const g = tape.grad(model.params[i]);
      assert.ok(g, `no gradient for ${key}`);
      const got = await downloadTensor(g) as Float32Array;
      const scale = maxAbs(want.data);
      if (scale < 1e-5 * global) {
        const c = compareArrays(got, want.data, { atol: 1e-6 * global, rtol: 0 });
        if (!c.ok) bad.push(`${key}: noise-level gradient off by ${c.maxAbsError}`);
        continue;
      }
      // 1e-3 relative, or twice PyTorch's own float32 error where that is larger.
      const f32err = (await get(want.err)).data[0];
      const tol = Math.max(1e-3, 2 * f32err);
      const c = compareArrays(got, want.data, { atol: tol * scale, rtol: tol });
      // Elementwise only where float32 itself is well conditioned.
      if ((!c.ok && f32err <= 1e-3) || c.relL2 > tol) {
        bad.push(`${key}: relL2 ${c.relL2.toExponential(2)}, worst ${JSON.stringify(c.worst)}`);
      }
      if (c.relL2 > worst.relL2) worst = { key, relL2: c.relL2 };
    }
    assert.deepEqual(bad, [], bad.join("\n"));
    for (const [key, buf] of model.buffers()) {
      if (key.endsWith("num_batches_tracked")) continue;
      const want = await get(`${caseName}.after.${key}`);
      const c = compareArrays(await downloadTensor(buf) as Float32Array, want.data, {
        atol: 1e-5,
        rtol: 1e-4,
      });
      assert.ok(c.ok, `${key} after the step: ${JSON.stringify(c.worst)}`);
    }
    if (Deno.env.get("VERBOSE")) console.log(`${family}: worst gradient ${JSON.stringify(worst)}`);
    tape.release();
    for (const t of new Set([xt, tt, classes, lossOut])) t.release();
    model.release();
  });
}

Deno.test("dropout under a tape: masks from the step seed, gradients through the same masks, identity without a seed", async () => {
  const gpu = await getGpu();
  const [samples, n] = [4, 1024];
  const xs = Float32Array.from({ length: samples * n }, (_, i) => 1 + i % 5);
  const x = uploadTensor(gpu, [samples, n], "f32", xs);
  const rec = gpu.kernels.recorder("dropout tape");
  const tape = new Tape(gpu, rec, [x], { dropoutSeed: 77 });
  const y = tape.ops.dropout(x, 0.25);
  const z = tape.ops.dropout(y, 0.5, "sample");
  tape.backward(z, uploadTensor(gpu, z.shape, "f32", new Float32Array(samples * n).fill(1)));
  rec.submit();
  const [yv, zv, gx] = await Promise.all([y, z, tape.grad(x)!].map((t) => downloadTensor(t)));
  const kept = yv.filter((v) => v !== 0).length / yv.length;
  assert.ok(Math.abs(kept - 0.75) < 0.03, `kept ${kept}`);
  for (let b = 0; b < samples; b++) {
    const zr = zv.subarray(b * n, (b + 1) * n), yr = yv.subarray(b * n, (b + 1) * n);
    const on = zr.some((v) => v !== 0);
    assert.ok(zr.every((v, i) => v === (on ? 2 * yr[i] : 0)), `sample ${b}: all or nothing`);
    for (let i = 0; i < n; i++) {
      // dz/dx = keep_y / 0.75 · keep_z / 0.5, with the forward pass's masks.
      const want = (yr[i] !== 0 ? 1 / 0.75 : 0) * (on ? 2 : 0);
      assert.ok(
        Math.abs(gx[b * n + i] - want) < 1e-6,
        `dx[${b}, ${i}] ${gx[b * n + i]} vs ${want}`,
      );
    }
  }
  tape.release();
  const plain = new Tape(gpu, gpu.kernels.recorder(), [x]);
  assert.equal(plain.ops.dropout(x, 0.25), x);
  plain.release();
  x.release();
});

Deno.test("Dropout2d under a tape zeroes whole channels of a sample, at the configured rate", async () => {
  const gpu = await getGpu();
  const [samples, channels, hw] = [8, 50, 64];
  const x = uploadTensor(
    gpu,
    [samples, channels, 8, 8],
    "f32",
    new Float32Array(samples * channels * hw).fill(1),
  );
  const rec = gpu.kernels.recorder("dropout2d tape");
  const tape = new Tape(gpu, rec, [x], { dropoutSeed: 5 });
  const y = tape.ops.dropout(x, 0.2, "channel");
  rec.submit();
  const yv = await downloadTensor(y) as Float32Array;
  let dropped = 0;
  for (let p = 0; p < samples * channels; p++) {
    const plane = yv.subarray(p * hw, (p + 1) * hw);
    assert.ok(plane.every((v) => v === plane[0]), `plane ${p} is all or nothing`);
    assert.ok(plane[0] === 0 || Math.abs(plane[0] - 1.25) < 1e-6, `plane ${p}: ${plane[0]}`);
    if (plane[0] === 0) dropped++;
  }
  // 400 draws at p = 0.2: 80 expected, standard deviation 8.
  assert.ok(Math.abs(dropped - 80) < 32, `${dropped} of 400 channels dropped`);
  tape.release();
  x.release();
});

Deno.test("the seed's training-only dropouts: UNETR's Dropout2d, SegFormer's hidden dropout, mit-b5-big", async () => {
  const big = segformerConfig("mit-b5-big", { num_channels: 32, num_labels: 1 });
  assert.deepEqual(
    [big.drop_path_rate, big.classifier_dropout_prob, big.hidden_dropout_prob, big.depths[2]],
    [0.3, 0.3, 0.3, 40],
  );
  assert.equal(
    segformerConfig("mit-b5", { num_channels: 32, num_labels: 1 }).hidden_dropout_prob,
    0,
  );
  assert.equal(memberConfig("unetr").flatDropout, 0.1);
  assert.equal(memberConfig("unetr_mc").flatDropout, 0.2);
  assert.equal(memberConfig("cnn3d").flatDropout, undefined);

  const gpu = await getGpu();
  // Ops recorded by one training forward: each dropout site adds one (dropout is an op).
  const opsRecorded = async (config: MemberConfig, depth: number, size: number) => {
    const model = await TrainModel.create(gpu, config, initialWeights(config, new Rng(1)));
    const x = uploadTensor(
      gpu,
      [1, 1, depth, size, size],
      "f32",
      new Float32Array(depth * size * size).fill(0.5),
    );
    const tape = new Tape(gpu, gpu.kernels.recorder(), model.params, { dropoutSeed: 3 });
    model.forward(tape.ops, x);
    tape.rec.submit();
    const n = tape.length;
    tape.release();
    x.release();
    model.release();
    return n;
  };
  const cnn = tinyConfig("cnn3d");
  const hidden = { ...cnn, segformer: { ...cnn.segformer, hidden_dropout_prob: 0.3 } };
  const blocks = cnn.segformer.depths.reduce((a, b) => a + b, 0);
  assert.equal(await opsRecorded(hidden, 16, 32) - await opsRecorded(cnn, 16, 32), 3 * blocks);
  const mc = tinyConfig("unetr_mc");
  assert.equal(
    await opsRecorded(mc, 16, 64) - await opsRecorded({ ...mc, flatDropout: undefined }, 16, 64),
    1,
  );
});

Deno.test("a chunked last convolution (over the binding limit) trains: same gradients as whole", async () => {
  // At a 256 tile the CNN3D's last conv3d output (32 x 16 x 256 x 256 floats) is a hair over
  // what convMaxOverDepth lets one binding hold, so it runs in channel chunks (weight rows,
  // channel copies into one output). Here a small limit forces the same path on a tiny model.
  const gpu = await getGpu();
  const config = tinyConfig("cnn3d");
  const x = new Float32Array(16 * 32 * 32).map((_, i) => (i * 7919 % 1000) / 1000);
  const t = new Float32Array(32 * 32).map((_, i) => (i * 31) % 7 < 2 ? 1 : 0);
  const grads = async (maxBinding?: number) => {
    const saved = gpu.maxBinding;
    if (maxBinding) gpu.maxBinding = maxBinding;
    try {
      const model = await TrainModel.create(gpu, config, initialWeights(config, new Rng(4)));
      const xt = uploadTensor(gpu, [1, 1, 16, 32, 32], "f32", x);
      const tt = uploadTensor(gpu, [1, 1, 32, 32], "f32", t);
      const loss = emptyTensor(gpu, [1], "f32");
      const rec = gpu.kernels.recorder("chunked");
      const tape = new Tape(gpu, rec, model.params);
      const logits = model.forward(tape.ops, xt);
      tape.backward(logits, recordBceDiceLoss(gpu, rec, logits, tt, { out: loss, index: 0 }));
      rec.submit();
      const out = await Promise.all(model.params.map((p) => downloadTensor(tape.grad(p)!)));
      const ops = tape.length;
      tape.release();
      for (const u of [xt, tt, loss]) u.release();
      model.release();
      return { grads: out as Float32Array[], ops };
    } finally {
      gpu.maxBinding = saved;
    }
  };
  const whole = await grads();
  // conv3d_4's output is 32 x 16 x 32 x 32 floats (2 MiB): 1.5 MiB gives chunks of 23 and 9.
  const chunked = await grads(1.5 * 2 ** 20);
  // Two chunks: two more conv3d + flattenMax pairs' worth of entries, plus rows and copies.
  assert.ok(chunked.ops > whole.ops, `${chunked.ops} ops chunked, ${whole.ops} whole`);
  whole.grads.forEach((w, i) => {
    const c = compareArrays(chunked.grads[i], w);
    assert.ok(c.relL2 < 1e-5, `parameter ${i}: relL2 ${c.relL2}`);
  });
});
