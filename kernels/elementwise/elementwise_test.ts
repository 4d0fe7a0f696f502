import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { type Activation, recordActivation, recordAdd } from "./mod.ts";
import { elementwiseRef } from "./ref.ts";

function random(n: number): Float32Array {
  return new Float32Array(n).map(() => Math.random() * 4 - 2);
}

async function check(
  shape: number[],
  op: "add" | "act",
  activation: Activation,
  inPlace: boolean,
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const n = shape.reduce((x, y) => x * y);
  const as = random(n);
  const bs = random(n);
  const a = uploadTensor(gpu, shape, "f32", as);
  const b = uploadTensor(gpu, shape, "f32", bs);
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  const rec = gpu.kernels.recorder("test");
  let y;
  try {
    y = op === "add"
      ? recordAdd(gpu, rec, a, b, { activation, slope: 0.05, inPlace })
      : recordActivation(gpu, rec, a, activation, { slope: 0.05, inPlace });
  } finally {
    gpu.maxBinding = saved;
  }
  rec.submit();
  assert.equal(y === a, inPlace);
  const got = await downloadTensor(y) as Float32Array;
  const want = elementwiseRef(as, op === "add" ? bs : undefined, activation, 0.05);
  assertClose(got, want, { atol: 1e-7, rtol: 1e-6 }, `${op} ${activation} in place ${inPlace}`);
  if (!inPlace) y.release();
  a.release();
  b.release();
}

Deno.test("add, relu and leaky_relu match the reference, in place and not", async () => {
  await check([2, 3, 4, 5, 6], "add", "none", false);
  await check([2, 3, 4, 5, 6], "add", "leaky_relu", true);
  await check([3, 5, 7], "act", "relu", false); // odd count: scalar units
  await check([3, 5, 7], "act", "leaky_relu", true);
});

Deno.test("elementwise windows element ranges under a small binding limit", async () => {
  await check([2, 3, 4, 5, 6], "add", "relu", false, 1024);
  await check([3, 5, 7], "act", "leaky_relu", true, 512);
});
