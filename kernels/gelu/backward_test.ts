import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordGeluBackward } from "./mod.ts";
import { geluBackwardRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/transformer_grads.safetensors", import.meta.url),
);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function run(xh: Float32Array, dyh: Float32Array, maxBinding?: number) {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const x = uploadTensor(gpu, [xh.length], "f32", xh);
    const dy = uploadTensor(gpu, [xh.length], "f32", dyh);
    const rec = gpu.kernels.recorder();
    const dx = recordGeluBackward(gpu, rec, x, dy);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    for (const t of [x, dy, dx]) t.release();
    return got;
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("gelu backward matches PyTorch autograd", async () => {
  const f = await readSafetensors(FIXTURE);
  const [xh, dyh, want] = await Promise.all(
    ["gelu.x", "gelu.dy", "gelu.dx"].map((k) => f.get(k)!.data()),
  );
  const tol = { atol: 1e-4 * maxAbs(want), rtol: 1e-3 };
  assertClose(geluBackwardRef(xh, dyh), want, tol, "gelu dx reference");
  const c = assertClose(await run(xh, dyh), want, tol, "gelu dx");
  console.log(`gelu dx vs PyTorch: max abs error ${c.maxAbsError.toExponential(2)}`);
});

Deno.test("gelu backward matches its reference, windowed under a small binding limit", async () => {
  const n = 3001;
  const xh = new Float32Array(n).map((_, i) =>
    i < n / 2 ? -10 + (20 * i) / (n / 2) : (Math.random() * 2 - 1) * 10 ** (Math.random() * 3 - 2)
  );
  const dyh = new Float32Array(n).map(() => Math.random() * 2 - 1);
  const want = geluBackwardRef(xh, dyh);
  // gelu' is within [-0.17, 1.13]: a few float32 ulps plus the erfc approximation.
  assertClose(await run(xh, dyh), want, { atol: 1e-6, rtol: 1e-5 }, "gelu dx");
  assertClose(await run(xh, dyh, 1024), want, { atol: 1e-6, rtol: 1e-5 }, "gelu dx windowed");
});
