import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordChannelSum } from "../reduce/mod.ts";
import {
  type ConvTranspose2dBackwardOptions,
  recordConvTranspose2dBackwardInput,
  recordConvTranspose2dBackwardWeight,
} from "./mod.ts";
import {
  convTranspose2dBackwardInputRef,
  convTranspose2dBackwardWeightRef,
  type ConvTranspose2dRefShape,
} from "./ref.ts";

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
  o: ConvTranspose2dBackwardOptions,
): Promise<{ dx: Float32Array; dw: Float32Array; db: Float32Array }> {
  const gpu = x.gpu;
  const rec = gpu.kernels.recorder();
  const dx = recordConvTranspose2dBackwardInput(gpu, rec, dy, w, x.shape, o);
  const dw = recordConvTranspose2dBackwardWeight(gpu, rec, x, dy, w.shape, o);
  const [n, co, ho, wo] = dy.shape;
  const db = recordChannelSum(gpu, rec, dy, n, co, ho * wo);
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

const K4S2P1: ConvTranspose2dBackwardOptions = { stride: 2, padding: 1 };

Deno.test("conv_transpose2d backward matches PyTorch (k4 s2 p1, 1 and 3 channels)", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE);
  for (const name of ["t2_c1", "t2_c3"]) {
    const load = async (k: string) => {
      const t = dict.get(`${name}.${k}`)!;
      return { shape: t.shape, data: await t.data() };
    };
    const [x, w, dy, dx, dw, db] = await Promise.all(
      ["x", "w", "dy", "dx", "dw", "db"].map(load),
    );
    const xt = uploadTensor(gpu, x.shape, "f32", x.data);
    const wt = uploadTensor(gpu, w.shape, "f32", w.data);
    const dyt = uploadTensor(gpu, dy.shape, "f32", dy.data);
    const got = await run(xt, wt, dyt, K4S2P1);
    close(got.dx, dx.data, `${name} dx`);
    close(got.dw, dw.data, `${name} dw`);
    close(got.db, db.data, `${name} db`);
    const [n, ci, h, wd] = x.shape;
    const s: ConvTranspose2dRefShape = { n, ci, h, wd, co: w.shape[1], k: 4, s: 2, p: 1 };
    close(convTranspose2dBackwardInputRef(dy.data, w.data, s), dx.data, `${name} dx ref`);
    close(convTranspose2dBackwardWeightRef(x.data, dy.data, s), dw.data, `${name} dw ref`);
    for (const t of [xt, wt, dyt]) t.release();
  }
});

Deno.test("conv_transpose2d backward matches its reference (other kernels, channels, long reduction)", async () => {
  const gpu = await getGpu();
  const cases: ConvTranspose2dRefShape[] = [
    { n: 2, ci: 5, h: 6, wd: 7, co: 6, k: 3, s: 2, p: 1 },
    { n: 1, ci: 2, h: 5, wd: 4, co: 3, k: 4, s: 3, p: 0 },
    { n: 2, ci: 1, h: 48, wd: 40, co: 1, k: 4, s: 2, p: 1 },
  ];
  for (const s of cases) {
    const ho = (s.h - 1) * s.s - 2 * s.p + s.k, wo = (s.wd - 1) * s.s - 2 * s.p + s.k;
    const xh = rand(s.n * s.ci * s.h * s.wd);
    const wh = rand(s.ci * s.co * s.k * s.k);
    const dyh = rand(s.n * s.co * ho * wo);
    const x = uploadTensor(gpu, [s.n, s.ci, s.h, s.wd], "f32", xh);
    const w = uploadTensor(gpu, [s.ci, s.co, s.k, s.k], "f32", wh);
    const dy = uploadTensor(gpu, [s.n, s.co, ho, wo], "f32", dyh);
    const got = await run(x, w, dy, { stride: s.s, padding: s.p });
    const what = `conv_transpose2d ${s.ci}->${s.co} k${s.k} s${s.s} p${s.p}`;
    close(got.dx, convTranspose2dBackwardInputRef(dyh, wh, s), `${what} dx`);
    close(got.dw, convTranspose2dBackwardWeightRef(xh, dyh, s), `${what} dw`);
    for (const t of [x, w, dy]) t.release();
  }
});
