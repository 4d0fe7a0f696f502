import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordChannelSum } from "../reduce/mod.ts";
import { recordConvTranspose3dBackwardInput, recordConvTranspose3dBackwardWeight } from "./mod.ts";
import { convTranspose3dBackwardInputRef, convTranspose3dBackwardWeightRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/conv_grads.safetensors", import.meta.url)
  .pathname;

function rand(n: number): Float32Array {
  return new Float32Array(n).map(() => Math.random() * 2 - 1);
}

/** Compares with atol scaled to the expected magnitude; returns the max error relative to it. */
function close(got: Float32Array, want: ArrayLike<number>, what: string): number {
  let peak = 0;
  for (let i = 0; i < want.length; i++) peak = Math.max(peak, Math.abs(want[i]));
  const c = assertClose(got, want, { atol: 1e-4 * peak, rtol: 1e-3 }, what);
  const rel = c.maxAbsError / peak;
  if (Deno.env.get("VERBOSE")) {
    console.log(`${what}: max error ${rel.toExponential(2)} of max |expected|`);
  }
  return rel;
}

async function run(
  x: GpuTensor,
  w: GpuTensor,
  dy: GpuTensor,
): Promise<{ dx: Float32Array; dw: Float32Array; db: Float32Array }> {
  const gpu = x.gpu;
  const rec = gpu.kernels.recorder();
  const dx = recordConvTranspose3dBackwardInput(gpu, rec, dy, w, x.shape);
  const dw = recordConvTranspose3dBackwardWeight(gpu, rec, x, dy, w.shape);
  const [n, co, d, h, wd] = dy.shape;
  const db = recordChannelSum(gpu, rec, dy, n, co, d * h * wd);
  rec.submit();
  const out = {
    dx: await downloadTensor(dx) as Float32Array,
    dw: await downloadTensor(dw) as Float32Array,
    db: await downloadTensor(db) as Float32Array,
  };
  if (dx.shape.join() !== x.shape.join() || dw.shape.join() !== w.shape.join()) {
    throw new Error(`gradient shapes ${dx} ${dw} do not match ${x} ${w}`);
  }
  for (const t of [dx, dw, db]) t.release();
  return out;
}

Deno.test("conv_transpose3d backward (k2 s2) matches PyTorch", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  for (const [name, bias] of [["t3_a", true], ["t3_b", false]] as const) {
    const load = async (k: string) => {
      const t = dict.get(`${name}.${k}`)!;
      return { shape: t.shape, data: await t.data() };
    };
    const [x, w, dy, dx, dw] = await Promise.all(["x", "w", "dy", "dx", "dw"].map(load));
    const xt = uploadTensor(gpu, x.shape, "f32", x.data);
    const wt = uploadTensor(gpu, w.shape, "f32", w.data);
    const dyt = uploadTensor(gpu, dy.shape, "f32", dy.data);
    const got = await run(xt, wt, dyt);
    close(got.dx, dx.data, `${name} dx`);
    close(got.dw, dw.data, `${name} dw`);
    if (bias) close(got.db, (await load("db")).data, `${name} db`);
    const co = w.shape[1];
    close(convTranspose3dBackwardInputRef(dy.data, w.data, x.shape, co), dx.data, `${name} dx ref`);
    close(
      convTranspose3dBackwardWeightRef(x.data, dy.data, x.shape, co),
      dw.data,
      `${name} dw ref`,
    );
    for (const t of [xt, wt, dyt]) t.release();
  }
});

Deno.test("conv_transpose3d backward (k2 s2) matches its reference, long reduction", async () => {
  const gpu = await getGpu();
  for (const [xShape, co] of [[[2, 6, 3, 5, 4], 5], [[2, 2, 8, 16, 16], 3]] as const) {
    const [n, ci, d, h, wd] = xShape;
    const xh = rand(n * ci * d * h * wd);
    const wh = rand(ci * co * 8);
    const dyh = rand(n * co * 8 * d * h * wd);
    const x = uploadTensor(gpu, xShape, "f32", xh);
    const w = uploadTensor(gpu, [ci, co, 2, 2, 2], "f32", wh);
    const dy = uploadTensor(gpu, [n, co, 2 * d, 2 * h, 2 * wd], "f32", dyh);
    const got = await run(x, w, dy);
    const what = `conv_transpose3d [${xShape}] -> ${co}`;
    close(got.dx, convTranspose3dBackwardInputRef(dyh, wh, xShape, co), `${what} dx`);
    close(got.dw, convTranspose3dBackwardWeightRef(xh, dyh, xShape, co), `${what} dw`);
    for (const t of [x, w, dy]) t.release();
  }
});
