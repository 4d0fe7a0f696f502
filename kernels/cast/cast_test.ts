import { equal, throws } from "node:assert/strict";
import { getGpu } from "../device.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { castRef, recordCast } from "./mod.ts";

Deno.test("cast f32 -> f16 -> f32 rounds as the host's Float16Array, overflow and NaN included", async () => {
  const gpu = await getGpu();
  if (!gpu.device.features.has("shader-f16")) {
    console.log("skipped: the adapter has no shader-f16");
    return;
  }
  const special = [0, -0, 1, -1, 65504, 65519, 65520, -70000, 1e-8, 6e-5, 3e-8, 1 / 3, Infinity];
  const n = 1003; // not a multiple of 4: the last invocation has a partial quad
  const x = new Float32Array(n);
  x.set(special);
  for (let i = special.length; i < n; i++) {
    x[i] = (Math.sin(i * 12.9898) * 43758.5453 % 1) * 10 ** ((i % 13) - 6);
  }
  x[n - 1] = NaN;
  const xt = uploadTensor(gpu, [n], "f32", x);
  const rec = gpu.kernels.recorder();
  const h = recordCast(gpu, rec, xt, "f16");
  const back = recordCast(gpu, rec, h, "f32");
  rec.submit();
  const half = new Float32Array(new Float16Array((await downloadTensor(h) as Uint16Array).buffer));
  const got = await downloadTensor(back) as Float32Array;
  const want = castRef(x);
  // Exact: a conversion has one right answer. Subnormal f16s may flush to zero on some adapters.
  for (let i = 0; i < n - 1; i++) {
    const ok = Object.is(got[i], want[i]) || (Math.abs(want[i]) < 6.1e-5 && got[i] === 0) ||
      (got[i] === want[i]);
    if (!ok) throw new Error(`element ${i}: cast(${x[i]}) = ${got[i]}, want ${want[i]}`);
  }
  equal(half[6], Infinity);
  equal(half[7], -Infinity);
  equal(half[5], 65504);
  equal(got[n - 1], Infinity); // NaN stays non-finite
  for (const t of [xt, h, back]) t.release();
});

Deno.test("cast refuses same-type and non-float conversions", async () => {
  const gpu = await getGpu();
  const x = uploadTensor(gpu, [4], "f32", new Float32Array(4));
  const rec = gpu.kernels.recorder();
  throws(() => recordCast(gpu, rec, x, "f32"), /cast: converts between f32 and f16/);
  x.release();
});
