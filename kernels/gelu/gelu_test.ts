import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordGelu } from "./mod.ts";
import { erfRef, geluRef } from "./ref.ts";

Deno.test("the float64 erf reference matches known values", () => {
  // erf(0.5), erf(1), erf(2), erf(3), erfc(5) = 1.5374597944280e-12.
  assert.ok(Math.abs(erfRef(0.5) - 0.5204998778130465) < 1e-15);
  assert.ok(Math.abs(erfRef(1) - 0.8427007929497149) < 1e-15);
  assert.ok(Math.abs(erfRef(2) - 0.9953222650189527) < 1e-15);
  assert.ok(Math.abs(erfRef(-3) + 0.9999779095030014) < 1e-15);
  assert.ok(Math.abs((1 - erfRef(5)) / 1.5374597944280e-12 - 1) < 1e-4);
  assert.ok(Math.abs(geluRef(-10) / (-10 * 7.619853024160527e-24) - 1) < 1e-9);
});

async function check(n: number, maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    // A dense sweep over [-10, 10] plus random values of mixed scale.
    const xh = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      xh[i] = i < n / 2
        ? -10 + (20 * i) / (n / 2)
        : (Math.random() * 2 - 1) * 10 ** (Math.random() * 3 - 2);
    }
    const x = uploadTensor(gpu, [n], "f32", xh);
    const rec = gpu.kernels.recorder();
    const y = recordGelu(gpu, rec, x);
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    const want = Float64Array.from(xh, geluRef);
    // The erf approximation adds < 1.2e-7 relative to erfc; float32 rounding adds a few ulps.
    const c = assertClose(got, want, { atol: 1e-7, rtol: 1e-6 }, "gelu");
    assert.ok(c.maxAbsError < 1e-6, `max abs error ${c.maxAbsError}`);
    x.release();
    y.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("gelu matches exact erf GELU to 1e-6 over |x| <= 10", async () => {
  await check(20002); // scalar path (the count is not a multiple of 4)
  await check(20000); // vec4 path
});

Deno.test("gelu windows the element range under a small binding limit", async () => {
  await check(3001, 1024);
  await check(3000, 1024);
});
