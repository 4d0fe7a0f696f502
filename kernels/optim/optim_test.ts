import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { AdamW, OPTIM_STATE, recordSwaUpdate } from "./mod.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/train_grads.safetensors", import.meta.url),
);

Deno.test("AdamW with clip_grad_norm_ matches PyTorch over three steps", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  const get = async (k: string) => await dict.get(k)!.data();
  const shapes = [[5, 3], [7]];
  const params = await Promise.all(
    shapes.map(async (s, i) => uploadTensor(gpu, s, "f32", await get(`adamw.p${i}.init`))),
  );
  const opt = new AdamW(gpu, params, { maxGradNorm: 0.5 });
  const lrs = await get("adamw.lrs");
  for (let s = 0; s < 3; s++) {
    const grads = await Promise.all(
      shapes.map(async (sh, i) => uploadTensor(gpu, sh, "f32", await get(`adamw.p${i}.grad${s}`))),
    );
    const rec = gpu.kernels.recorder("adamw test");
    opt.step(rec, grads, lrs[s]);
    rec.submit();
    const [, norm] = await downloadTensor(opt.state) as Float32Array;
    const wantNorm = (await get(`adamw.norm${s}`))[0];
    assert.ok(Math.abs(norm - wantNorm) < 1e-6 * wantNorm, `norm ${norm} vs ${wantNorm}`);
    for (let i = 0; i < params.length; i++) {
      const got = await downloadTensor(params[i]) as Float32Array;
      // float32 rounding: a few ulps of the parameter values.
      assertClose(got, await get(`adamw.p${i}.step${s}`), { atol: 1e-6, rtol: 1e-6 }, `p${i}`);
    }
    for (const g of grads) g.release();
  }
  opt.release();
  for (const p of params) p.release();
});

Deno.test("AdamW under a dynamic loss scale: scaled steps match PyTorch, an overflow is skipped", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  const get = async (k: string) => await dict.get(k)!.data();
  const shapes = [[5, 3], [7]];
  const params = await Promise.all(
    shapes.map(async (s, i) => uploadTensor(gpu, s, "f32", await get(`adamw.p${i}.init`))),
  );
  const opt = new AdamW(gpu, params, {
    maxGradNorm: 0.5,
    lossScale: { init: 1024, growthInterval: 2 },
  });
  const lrs = await get("adamw.lrs");
  const state = async () => await downloadTensor(opt.state) as Float32Array;
  const step = (grads: Float32Array[], lr: number) => {
    const ts = grads.map((g, i) => uploadTensor(gpu, shapes[i], "f32", g));
    const rec = gpu.kernels.recorder("loss scale test");
    // The gradients a scaled loss would give: scaled in place by the GPU-side scale.
    for (const t of ts) opt.scaleLoss(rec, t);
    opt.step(rec, ts, lr);
    rec.submit();
    for (const t of ts) t.release();
  };
  const grads = async (s: number) =>
    await Promise.all(shapes.map((_, i) => get(`adamw.p${i}.grad${s}`)));
  const check = async (s: number) => {
    for (let i = 0; i < params.length; i++) {
      const got = await downloadTensor(params[i]) as Float32Array;
      // Powers of two scale and unscale exactly; after a skip the bias corrections come from
      // pow() in f32 on the GPU, a few ulps from the host's.
      assertClose(got, await get(`adamw.p${i}.step${s}`), { atol: 2e-6, rtol: 2e-6 }, `p${i}`);
    }
  };
  step(await grads(0), lrs[0]);
  await check(0);
  let st = await state();
  assert.equal(st[OPTIM_STATE.lossScale], 1024);
  assert.equal(st[OPTIM_STATE.goodSteps], 1);
  const norm0 = (await get("adamw.norm0"))[0];
  assert.ok(Math.abs(st[OPTIM_STATE.norm] - norm0) < 1e-6 * norm0, "the norm is unscaled");

  // An overflow: nothing moves, the scale halves, and the step is counted as skipped.
  const bad = await grads(1);
  bad[1] = bad[1].slice();
  bad[1][3] = Infinity;
  step(bad, lrs[1]);
  st = await state();
  assert.deepEqual(
    [st[OPTIM_STATE.lossScale], st[OPTIM_STATE.goodSteps], st[OPTIM_STATE.skipped]],
    [512, 0, 1],
  );
  assert.equal(st[OPTIM_STATE.skippedTotal], 1);
  await check(0);

  // The next steps are PyTorch's steps 1 and 2 (bias corrections for t = 2, 3), and two finite
  // steps in a row double the scale.
  step(await grads(1), lrs[1]);
  await check(1);
  step(await grads(2), lrs[2]);
  await check(2);
  st = await state();
  assert.deepEqual([st[OPTIM_STATE.lossScale], st[OPTIM_STATE.goodSteps]], [1024, 0]);
  opt.release();
  for (const p of params) p.release();
});

Deno.test("SWA running average matches AveragedModel", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  const avg = uploadTensor(gpu, [3, 4], "f32", new Float32Array(12));
  for (let s = 0; s < 3; s++) {
    const w = uploadTensor(gpu, [3, 4], "f32", await dict.get(`swa.w${s}`)!.data());
    const rec = gpu.kernels.recorder("swa test");
    recordSwaUpdate(gpu, rec, avg, w, s);
    rec.submit();
    await downloadTensor(avg);
    w.release();
  }
  const got = await downloadTensor(avg) as Float32Array;
  assertClose(got, await dict.get("swa.avg")!.data(), { atol: 1e-6, rtol: 1e-6 }, "swa");
  avg.release();
});
