import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { dropoutKey, recordDropout } from "./mod.ts";
import { dropoutRef } from "./ref.ts";

Deno.test("dropout matches its reference mask exactly and keeps about 1 - p", async () => {
  const gpu = await getGpu();
  const n = 40000;
  const xs = Float32Array.from({ length: n }, (_, i) => 1 + (i % 7));
  const x = uploadTensor(gpu, [n], "f32", xs);
  for (const [p, per] of [[0.1, 1], [0.3, 1], [0.2, 100]] as const) {
    const key = dropoutKey(12345, 3);
    const rec = gpu.kernels.recorder();
    const y = recordDropout(gpu, rec, x, { p, key, per });
    rec.submit();
    const got = await downloadTensor(y) as Float32Array;
    assert.deepEqual(got, dropoutRef(xs, p, key, per));
    const kept = got.filter((v) => v !== 0).length / n;
    assert.ok(Math.abs(kept - (1 - p)) < (per === 1 ? 0.01 : 0.1), `p ${p}: kept ${kept}`);
    if (per > 1) {
      for (let s = 0; s < n / per; s++) {
        const unit = got.subarray(s * per, (s + 1) * per);
        assert.ok(unit.every((v) => v === 0) || unit.every((v) => v !== 0), `sample ${s}`);
      }
    }
    y.release();
  }
  x.release();
});

Deno.test("dropout keys differ by salt and seed", () => {
  assert.notEqual(dropoutKey(1, 0), dropoutKey(1, 1));
  assert.notEqual(dropoutKey(1, 0), dropoutKey(2, 0));
});
