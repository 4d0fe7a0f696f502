import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { AdamW, recordSwaUpdate } from "./mod.ts";

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
    const [, norm] = await downloadTensor(opt.scale) as Float32Array;
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
