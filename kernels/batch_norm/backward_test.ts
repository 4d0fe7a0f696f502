import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordBatchNormBackward, recordBatchNormTrain } from "./mod.ts";
import { batchNormBackwardRef, batchNormTrainRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/norm_grads.safetensors", import.meta.url);

/** Fixture tensors by name, with their shapes. */
async function fixture(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
  const dict = await readSafetensors(FIXTURE.pathname);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [k, t] of dict) out.set(k, { shape: [...t.shape], data: await t.data() });
  return out;
}

/** Compares with a tolerance scaled to the expected values' magnitude (1e-3 relative). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]));
  assertClose(got, want, { atol: 1e-4 * max, rtol: 1e-3 }, what);
}

async function read(t: GpuTensor): Promise<Float32Array> {
  return await downloadTensor(t) as Float32Array;
}

Deno.test("batch_norm train and backward match PyTorch (train mode, with and without ReLU)", async () => {
  const gpu = await getGpu();
  const f = await fixture();
  for (const [name, relu] of [["bn", false], ["bnr", true]] as const) {
    const get = (k: string) => f.get(`${name}.${k}`)!;
    const up = (k: string) => uploadTensor(gpu, get(k).shape, "f32", get(k).data);
    const x = up("x");
    const [weight, bias, runningMean, runningVar, dy] = [
      "weight",
      "bias",
      "running_mean",
      "running_var",
      "dy",
    ].map(up);
    const rec = gpu.kernels.recorder("test");
    const fwd = recordBatchNormTrain(gpu, rec, x, { weight, bias, runningMean, runningVar }, {
      relu,
    });
    const bwd = recordBatchNormBackward(gpu, rec, x, dy, { weight, ...fwd }, { relu });
    rec.submit();
    close(await read(fwd.y), get("y").data, `${name} y`);
    close(await read(fwd.mean), get("mean").data, `${name} mean`);
    close(await read(fwd.invstd), get("invstd").data, `${name} invstd`);
    close(await read(runningMean), get("running_mean_after").data, `${name} running_mean`);
    close(await read(runningVar), get("running_var_after").data, `${name} running_var`);
    close(await read(bwd.dx), get("dx").data, `${name} dx`);
    close(await read(bwd.dweight), get("dweight").data, `${name} dweight`);
    close(await read(bwd.dbias), get("dbias").data, `${name} dbias`);
    for (const t of [x, weight, bias, runningMean, runningVar, dy, ...Object.values(fwd)]) {
      t.release();
    }
    for (const t of Object.values(bwd)) t.release();
  }
});

Deno.test("batch_norm momentum 1 / (k + 1) is update_bn's cumulative moving average", async () => {
  const gpu = await getGpu();
  const f = await fixture();
  const c = 3;
  const weight = uploadTensor(gpu, [c], "f32", new Float32Array(c).fill(1));
  const bias = uploadTensor(gpu, [c], "f32", new Float32Array(c));
  const runningMean = uploadTensor(gpu, [c], "f32", new Float32Array(c));
  const runningVar = uploadTensor(gpu, [c], "f32", new Float32Array(c).fill(1));
  const rec = gpu.kernels.recorder("test");
  const xs: GpuTensor[] = [];
  for (let k = 0; k < 3; k++) {
    const xk = f.get(`bn_cma.x${k}`)!;
    const x = uploadTensor(gpu, xk.shape, "f32", xk.data);
    const out = recordBatchNormTrain(gpu, rec, x, { weight, bias, runningMean, runningVar }, {
      momentum: 1 / (k + 1),
    });
    xs.push(x, ...Object.values(out));
  }
  rec.submit();
  close(await read(runningMean), f.get("bn_cma.running_mean")!.data, "cma running_mean");
  close(await read(runningVar), f.get("bn_cma.running_var")!.data, "cma running_var");
  for (const t of [weight, bias, runningMean, runningVar, ...xs]) t.release();
});

/** Standard normal samples (Box-Muller). */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

async function checkRef(shape: number[], relu: boolean, offset: number, update: boolean) {
  const gpu = await getGpu();
  const [n, c] = shape;
  const size = shape.reduce((a, b) => a * b);
  const plane = size / (n * c);
  const xs = new Float32Array(size).map(() => offset + gaussian());
  const dys = new Float32Array(size).map(() => gaussian());
  const ps = {
    weight: new Float32Array(c).map(() => Math.random() * 2 - 0.5),
    bias: new Float32Array(c).map(() => Math.random() - 0.5),
    runningMean: new Float32Array(c).map(() => Math.random() - 0.5),
    runningVar: new Float32Array(c).map(() => Math.random() + 0.5),
  };
  const x = uploadTensor(gpu, shape, "f32", xs);
  const dy = uploadTensor(gpu, shape, "f32", dys);
  const [weight, bias, runningMean, runningVar] = Object.values(ps).map((a) =>
    uploadTensor(gpu, [c], "f32", a)
  );
  const rec = gpu.kernels.recorder("test");
  const fwd = recordBatchNormTrain(gpu, rec, x, { weight, bias, runningMean, runningVar }, {
    relu,
    momentum: 0.3,
    updateStats: update,
  });
  const bwd = recordBatchNormBackward(gpu, rec, x, dy, { weight, ...fwd }, { relu });
  rec.submit();
  const want = batchNormTrainRef(xs, n, c, plane, ps, { relu, momentum: 0.3 });
  const what = `batch_norm [${shape}] relu=${relu} offset=${offset}`;
  const y = await read(fwd.y);
  close(y, want.y, `${what} y`);
  close(await read(fwd.mean), want.mean, `${what} mean`);
  close(await read(fwd.invstd), want.invstd, `${what} invstd`);
  if (update) {
    close(await read(runningMean), want.runningMean, `${what} running_mean`);
    close(await read(runningVar), want.runningVar, `${what} running_var`);
  } else {
    assert.deepEqual(await read(runningMean), ps.runningMean);
    assert.deepEqual(await read(runningVar), ps.runningVar);
  }
  // The gradients are compared given the kernel's own statistics and output mask.
  const g = batchNormBackwardRef(xs, dys, n, c, plane, {
    weight: ps.weight,
    mean: await read(fwd.mean),
    invstd: await read(fwd.invstd),
    y: relu ? y : undefined,
  });
  close(await read(bwd.dx), g.dx, `${what} dx`);
  close(await read(bwd.dweight), g.dweight, `${what} dweight`);
  close(await read(bwd.dbias), g.dbias, `${what} dbias`);
  for (const t of [x, dy, weight, bias, runningMean, runningVar, ...Object.values(fwd)]) {
    t.release();
  }
  for (const t of Object.values(bwd)) t.release();
}

Deno.test("batch_norm train and backward match the reference over several chunks", async () => {
  await checkRef([2, 3, 40, 30], false, 0, true); // 1200-element planes: 3 chunks each
  await checkRef([3, 5, 7, 9], true, 0, false); // odd planes, stats left alone
  await checkRef([2, 2, 33, 31], true, 100, true); // the mean dwarfs the spread
});

Deno.test("batch_norm train rejects one value per channel and a ReLU without y", async () => {
  const gpu = await getGpu();
  const x = uploadTensor(gpu, [1, 2, 1, 1], "f32", new Float32Array(2));
  const p = uploadTensor(gpu, [2], "f32", new Float32Array(2));
  const rec = gpu.kernels.recorder("test");
  const params = { weight: p, bias: p, runningMean: p, runningVar: p };
  assert.throws(() => recordBatchNormTrain(gpu, rec, x, params), /more than 1 value/);
  assert.throws(
    () =>
      recordBatchNormBackward(gpu, rec, x, x, { weight: p, mean: p, invstd: p }, { relu: true }),
    /needs the forward output/,
  );
  x.release();
  p.release();
});
