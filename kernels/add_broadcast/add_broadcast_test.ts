import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordAddBroadcast } from "./mod.ts";
import { addBroadcastRef } from "./ref.ts";

async function check(maxBinding?: number) {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const a = Float32Array.from({ length: 3 * 7 * 5 }, () => Math.random() * 2 - 1);
    const b = Float32Array.from({ length: 7 * 5 }, () => Math.random() * 2 - 1);
    const ta = uploadTensor(gpu, [3, 7, 5], "f32", a);
    const tb = uploadTensor(gpu, [1, 7, 5], "f32", b);
    const rec = gpu.kernels.recorder();
    const y = recordAddBroadcast(gpu, rec, ta, tb);
    rec.submit();
    assertClose(await downloadTensor(y), addBroadcastRef(a, b), { atol: 1e-6, rtol: 1e-6 });
    for (const t of [ta, tb, y]) t.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("add_broadcast repeats b over a's leading dims", () => check());
Deno.test("add_broadcast windows under a small binding limit", () => check(512));
