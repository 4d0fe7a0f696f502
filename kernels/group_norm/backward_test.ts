import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../tensor.ts";
import type { Activation } from "../elementwise/mod.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordGroupNorm, recordGroupNormBackward } from "./mod.ts";
import { groupNormBackwardRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/norm_grads.safetensors", import.meta.url);

/** Compares with a tolerance scaled to the expected values' magnitude (1e-3 relative). */
function close(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  let max = 0;
  for (let i = 0; i < want.length; i++) max = Math.max(max, Math.abs(want[i]));
  assertClose(got, want, { atol: 1e-4 * max, rtol: 1e-3 }, what);
}

async function read(t: GpuTensor): Promise<Float32Array> {
  return await downloadTensor(t) as Float32Array;
}

/** The fixture's cases (tests/fixtures/grads/gen_norm_grads.py, GN_CASES). */
const CASES: { groups: number; activation: Activation }[] = [
  { groups: 4, activation: "none" },
  { groups: 4, activation: "relu" },
  { groups: 6, activation: "leaky_relu" },
  { groups: 2, activation: "relu" },
  { groups: 3, activation: "leaky_relu" },
  { groups: 1, activation: "none" },
];

Deno.test("group_norm backward matches PyTorch (3D / 2D, affine or not, relu / leaky_relu)", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE.pathname);
  for (const [k, { groups, activation }] of CASES.entries()) {
    const entry = (name: string) => dict.get(`gn${k}.${name}`);
    const up = async (name: string) => {
      const t = entry(name);
      return t ? uploadTensor(gpu, t.shape, "f32", await t.data()) : undefined;
    };
    const [x, dy, gamma, beta] = await Promise.all(["x", "dy", "gamma", "beta"].map(up));
    const opts = { groups, gamma, beta, activation, slope: 0.01 };
    const rec = gpu.kernels.recorder("test");
    const y = recordGroupNorm(gpu, rec, x!, opts);
    const g = recordGroupNormBackward(gpu, rec, x!, dy!, opts);
    rec.submit();
    const what = `gn${k} [${x!.shape}] G=${groups} affine=${!!gamma} ${activation}`;
    close(await read(y), await entry("y")!.data(), `${what} y`);
    close(await read(g.dx), await entry("dx")!.data(), `${what} dx`);
    assert.equal(g.dgamma === undefined, gamma === undefined);
    if (gamma) {
      close(await read(g.dgamma!), await entry("dgamma")!.data(), `${what} dgamma`);
      close(await read(g.dbeta!), await entry("dbeta")!.data(), `${what} dbeta`);
    }
    for (const t of [x, dy, gamma, beta, y, ...Object.values(g)]) t?.release();
  }
});

/** Standard normal samples (Box-Muller). */
function gaussian(): number {
  return Math.sqrt(-2 * Math.log(1 - Math.random())) * Math.cos(2 * Math.PI * Math.random());
}

async function checkRef(
  shape: number[],
  groups: number,
  affine: boolean,
  activation: Activation,
  offset = 0,
): Promise<void> {
  const gpu = await getGpu();
  const [n, c] = shape;
  const size = shape.reduce((a, b) => a * b);
  const xs = new Float32Array(size).map(() => offset + gaussian());
  const dys = new Float32Array(size).map(() => gaussian());
  const gs = new Float32Array(c).map(() => Math.random() * 2 - 0.5);
  const bs = new Float32Array(c).map(() => Math.random() - 0.5);
  const x = uploadTensor(gpu, shape, "f32", xs);
  const dy = uploadTensor(gpu, shape, "f32", dys);
  const gamma = affine ? uploadTensor(gpu, [c], "f32", gs) : undefined;
  const beta = affine ? uploadTensor(gpu, [c], "f32", bs) : undefined;
  const rec = gpu.kernels.recorder("test");
  const g = recordGroupNormBackward(gpu, rec, x, dy, {
    groups,
    gamma,
    beta,
    activation,
    slope: 0.2,
  });
  rec.submit();
  const want = groupNormBackwardRef(xs, dys, n, c, groups, {
    gamma: affine ? gs : undefined,
    beta: affine ? bs : undefined,
    activation,
    slope: 0.2,
  });
  const what = `group_norm backward [${shape}] G=${groups} affine=${affine} ${activation}`;
  close(await read(g.dx), want.dx, `${what} dx`);
  if (affine) {
    close(await read(g.dgamma!), want.dgamma, `${what} dgamma`);
    close(await read(g.dbeta!), want.dbeta, `${what} dbeta`);
  }
  for (const t of [x, dy, gamma, beta, ...Object.values(g)]) t?.release();
}

Deno.test("group_norm backward matches the reference over several chunks and groups", async () => {
  await checkRef([2, 4, 4, 16, 20], 2, true, "relu"); // 1280-element planes: 3 chunks each
  await checkRef([1, 6, 3, 5, 7], 6, false, "leaky_relu"); // instance norm, odd planes
  await checkRef([3, 6, 9, 11], 3, true, "none"); // 2D input
  await checkRef([1, 4, 2, 24, 24], 1, true, "leaky_relu", 50); // the mean dwarfs the spread
});

Deno.test("group_norm backward rejects bad groups, affine halves and mismatched dy", async () => {
  const gpu = await getGpu();
  const x = uploadTensor(gpu, [1, 4, 2, 2], "f32", new Float32Array(16));
  const dy = uploadTensor(gpu, [1, 4, 4], "f32", new Float32Array(16));
  const gamma = uploadTensor(gpu, [4], "f32", new Float32Array(4));
  const rec = gpu.kernels.recorder("test");
  assert.throws(() => recordGroupNormBackward(gpu, rec, x, x, { groups: 3 }), /split into 3/);
  assert.throws(() => recordGroupNormBackward(gpu, rec, x, x, { groups: 2, gamma }), /both/);
  assert.throws(() => recordGroupNormBackward(gpu, rec, x, dy, { groups: 2 }), /does not match/);
  for (const t of [x, dy, gamma]) t.release();
});
