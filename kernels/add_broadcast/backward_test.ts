import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordBroadcastSum } from "./mod.ts";
import { broadcastSumRef } from "./ref.ts";

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
  dyh: Float32Array,
  bShape: number[],
  maxBinding?: number,
): Promise<Float32Array> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const dy = uploadTensor(gpu, shape, "f32", dyh);
    const rec = gpu.kernels.recorder();
    const db = recordBroadcastSum(gpu, rec, dy, bShape);
    rec.submit();
    if (db.shape.join() !== bShape.join()) throw new Error(`db has shape ${db.shape}`);
    const got = await downloadTensor(db) as Float32Array;
    dy.release();
    db.release();
    return got;
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("broadcast_sum matches PyTorch autograd for b (6, 8) added to a (4, 6, 8)", async () => {
  const f = await readSafetensors(FIXTURE);
  const dy = f.get("bsum.dy")!;
  const [dyh, want] = await Promise.all([dy.data(), f.get("bsum.db")!.data()]);
  const tol = { atol: 1e-4 * maxAbs(want), rtol: 1e-3 };
  assertClose(broadcastSumRef(dyh, 48), want, tol, "broadcast_sum reference");
  const c = assertClose(await run(dy.shape, dyh, [6, 8]), want, tol, "broadcast_sum db");
  console.log(`broadcast_sum db vs PyTorch: max abs error ${c.maxAbsError.toExponential(2)}`);
});

Deno.test("broadcast_sum in one and two passes, and windowed", async () => {
  const cases: [number[], number[], number | undefined][] = [
    [[3, 7, 5], [1, 7, 5], undefined], // one pass
    [[1000, 3], [3], undefined], // two passes: 32 blocks of 32 rows
    [[200, 5], [5], 1024], // 38 rows per window
    [[37, 11], [11], 512], // 5 rows per window, three passes
  ];
  for (const [shape, bShape, maxBinding] of cases) {
    const n = shape.reduce((a, b) => a * b);
    const dyh = new Float32Array(n).map(() => Math.random() * 2 - 1);
    const nb = bShape.reduce((a, b) => a * b);
    const want = broadcastSumRef(dyh, nb);
    const got = await run(shape, dyh, bShape, maxBinding);
    // Sums of up to 1000 terms of magnitude 1.
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `broadcast_sum ${shape} -> ${bShape}`);
  }
});
