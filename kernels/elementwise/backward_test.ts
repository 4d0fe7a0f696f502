import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordActivation, recordActivationBackward } from "./mod.ts";
import { activationBackwardRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/transformer_grads.safetensors", import.meta.url),
);

async function run(
  shape: readonly number[],
  yh: Float32Array,
  dyh: Float32Array,
  kind: "relu" | "leaky_relu",
  slope?: number,
  maxBinding?: number,
): Promise<Float32Array> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const y = uploadTensor(gpu, shape, "f32", yh);
    const dy = uploadTensor(gpu, shape, "f32", dyh);
    const rec = gpu.kernels.recorder();
    const dx = recordActivationBackward(gpu, rec, y, dy, kind, { slope });
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    for (const t of [y, dy, dx]) t.release();
    return got;
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("relu and leaky_relu backward match PyTorch autograd", async () => {
  const f = await readSafetensors(FIXTURE);
  const cases = [
    ["relu", "relu", undefined],
    ["leaky", "leaky_relu", undefined], // the default slope, 0.01
    ["leaky2", "leaky_relu", 0.2],
  ] as const;
  for (const [name, kind, slope] of cases) {
    const y = f.get(`${name}.y`)!;
    const [yh, dyh, want] = await Promise.all(
      [`${name}.y`, `${name}.dy`, `${name}.dx`].map((k) => f.get(k)!.data()),
    );
    const tol = { atol: 1e-7, rtol: 1e-6 };
    assertClose(activationBackwardRef(yh, dyh, kind, slope), want, tol, `${name} reference`);
    const c = assertClose(await run(y.shape, yh, dyh, kind, slope), want, tol, `${name} dx`);
    console.log(`${name} dx vs PyTorch: max abs error ${c.maxAbsError.toExponential(2)}`);
  }
});

Deno.test("activation backward from the forward output, vec4 and scalar, windowed", async () => {
  const gpu = await getGpu();
  const cases: [number[], number | undefined][] = [[[2, 3, 4, 5, 6], undefined], [[3, 5, 7], 512]];
  for (const [shape, maxBinding] of cases) {
    const n = shape.reduce((a, b) => a * b);
    const xh = new Float32Array(n).map(() => Math.random() * 4 - 2);
    xh[0] = 0; // y = 0 gets no gradient
    const dyh = new Float32Array(n).map(() => Math.random() * 4 - 2);
    for (const kind of ["relu", "leaky_relu"] as const) {
      // y from the forward kernel itself, as training will use it.
      const x = uploadTensor(gpu, shape, "f32", xh);
      const rec = gpu.kernels.recorder();
      const y = recordActivation(gpu, rec, x, kind, { slope: 0.05 });
      rec.submit();
      const yh = await downloadTensor(y) as Float32Array;
      x.release();
      y.release();
      const got = await run(shape, yh, dyh, kind, 0.05, maxBinding);
      const want = activationBackwardRef(yh, dyh, kind, 0.05);
      assertClose(got, want, { atol: 0, rtol: 1e-7 }, `${kind} backward ${shape}`);
    }
  }
});
