import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordLayerNormBackward } from "./mod.ts";
import { layerNormBackwardRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/transformer_grads.safetensors", import.meta.url),
);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function run(
  shape: readonly number[],
  xh: Float32Array,
  gh: Float32Array,
  dyh: Float32Array,
  eps: number,
  maxBinding?: number,
): Promise<{ dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const x = uploadTensor(gpu, shape, "f32", xh);
    const g = uploadTensor(gpu, [gh.length], "f32", gh);
    const dy = uploadTensor(gpu, shape, "f32", dyh);
    const rec = gpu.kernels.recorder();
    const r = recordLayerNormBackward(gpu, rec, x, g, dy, { eps });
    rec.submit();
    const out = {
      dx: await downloadTensor(r.dx) as Float32Array,
      dgamma: await downloadTensor(r.dgamma) as Float32Array,
      dbeta: await downloadTensor(r.dbeta) as Float32Array,
    };
    for (const t of [x, g, dy, r.dx, r.dgamma, r.dbeta]) t.release();
    return out;
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("layer_norm backward matches PyTorch autograd (rows 2 x 64, C 16)", async () => {
  const f = await readSafetensors(FIXTURE);
  const names = ["x", "gamma", "dy", "dx", "dgamma", "dbeta"];
  const [xh, gh, dyh, ...want] = await Promise.all(names.map((n) => f.get(`ln.${n}`)!.data()));
  const ref = layerNormBackwardRef(xh, gh, dyh, 16, 1e-5);
  const got = await run(f.get("ln.x")!.shape, xh, gh, dyh, 1e-5);
  (["dx", "dgamma", "dbeta"] as const).forEach((k, i) => {
    const tol = { atol: 1e-4 * maxAbs(want[i]), rtol: 1e-3 };
    assertClose(ref[k], want[i], tol, `layer_norm ${k} reference`);
    const c = assertClose(got[k], want[i], tol, `layer_norm ${k}`);
    console.log(`layer_norm ${k} vs PyTorch: max abs error ${c.maxAbsError.toExponential(2)}`);
  });
});

async function check(rows: number, c: number, offset: number, maxBinding?: number) {
  const xh = new Float32Array(rows * c);
  for (let r = 0; r < rows; r++) {
    const shift = offset * (Math.random() * 2 - 1);
    for (let j = 0; j < c; j++) xh[r * c + j] = shift + Math.random() * 2 - 1;
  }
  const gh = new Float32Array(c).map(() => Math.random() + 0.5);
  const dyh = new Float32Array(rows * c).map(() => Math.random() * 2 - 1);
  const want = layerNormBackwardRef(xh, gh, dyh, c, 1e-6);
  const got = await run([rows, c], xh, gh, dyh, 1e-6, maxBinding);
  // dx is O(1) (x̂ carries the float32 rounding of x at large offsets); dgamma and dbeta are
  // sums over rows of O(1) terms.
  const what = `layer_norm backward ${rows}x${c} offset ${offset}`;
  assertClose(got.dx, want.dx, { atol: 1e-5 * Math.max(1, offset / 10), rtol: 1e-4 }, what);
  const atol = 1e-6 * rows * Math.max(1, offset / 10);
  assertClose(got.dgamma, want.dgamma, { atol, rtol: 1e-4 }, `${what} dgamma`);
  assertClose(got.dbeta, want.dbeta, { atol, rtol: 1e-4 }, `${what} dbeta`);
}

Deno.test("layer_norm backward matches its reference (C 8..512, ragged, large offsets)", async () => {
  await check(37, 64, 0);
  await check(10, 30, 1); // C not a multiple of 4, rows not a multiple of 4
  await check(16, 96, 100);
  await check(9, 512, 1);
  await check(3000, 8, 1); // 55 blocks of 55 rows
});

Deno.test("layer_norm backward windows rows under a small binding limit", async () => {
  await check(45, 32, 1, 4096); // 30 rows per window, blocks of 7 rows
  await check(200, 6, 1, 2048); // 74 rows per window, blocks of 15 rows
});
