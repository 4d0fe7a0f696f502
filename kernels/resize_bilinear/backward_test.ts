import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordResizeBilinear, recordResizeBilinearBackward } from "./mod.ts";
import { resizeBilinearBackwardRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/transformer_grads.safetensors", import.meta.url),
);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

async function run(
  dyh: Float32Array,
  dyShape: number[],
  inputShape: number[],
  maxBinding?: number,
): Promise<Float32Array> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const dy = uploadTensor(gpu, dyShape, "f32", dyh);
    const rec = gpu.kernels.recorder();
    const dx = recordResizeBilinearBackward(gpu, rec, dy, inputShape);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    dy.release();
    dx.release();
    return got;
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("resize_bilinear backward matches PyTorch autograd (x4, x2, down, x1.5)", async () => {
  const f = await readSafetensors(FIXTURE);
  for (const name of ["resize_up4", "resize_up2", "resize_down", "resize_odd"]) {
    const dy = f.get(`${name}.dy`)!;
    const dx = f.get(`${name}.dx`)!;
    const [dyh, want] = await Promise.all([dy.data(), dx.data()]);
    const [n, c, h, w] = dx.shape;
    const tol = { atol: 1e-4 * maxAbs(want), rtol: 1e-3 };
    const ref = resizeBilinearBackwardRef(dyh, n * c, h, w, dy.shape[2], dy.shape[3]);
    assertClose(ref, want, tol, `${name} reference`);
    const got = await run(dyh, [...dy.shape], [...dx.shape]);
    const cmp = assertClose(got, want, tol, `${name} dx`);
    console.log(`${name} dx vs PyTorch: max abs error ${cmp.maxAbsError.toExponential(2)}`);
  }
});

Deno.test("resize_bilinear backward matches its reference at many scales", async () => {
  const cases: [number[], [number, number], number?][] = [
    [[2, 3, 5, 7], [10, 14]],
    [[1, 2, 4, 6], [16, 24]],
    [[1, 1, 2, 3], [32, 40]], // x16 and x13.3
    [[1, 2, 6, 9], [9, 14]],
    [[1, 2, 9, 10], [4, 7]], // downscaling
    [[1, 1, 17, 33], [3, 5]], // strong downscaling: inputs no output reads get 0
    [[1, 2, 1, 5], [4, 5]], // one row; identity along x
    [[2, 5, 4, 4], [8, 8], 1024], // 3 planes per window
  ];
  for (const [shape, [h2, w2], maxBinding] of cases) {
    const [n, c, h, w] = shape;
    const dyh = new Float32Array(n * c * h2 * w2).map(() => Math.random() * 2 - 1);
    const got = await run(dyh, [n, c, h2, w2], shape, maxBinding);
    const want = resizeBilinearBackwardRef(dyh, n * c, h, w, h2, w2);
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `resize backward ${shape} <- ${h2}x${w2}`);
  }
});

Deno.test("resize_bilinear backward is the adjoint of the forward kernel", async () => {
  // <resize(x), dy> = <x, resize_backward(dy)> for the kernels themselves.
  const gpu = await getGpu();
  for (const [shape, size] of [[[1, 2, 5, 6], [11, 13]], [[1, 1, 12, 7], [5, 16]]] as const) {
    const [n, c, h, w] = shape;
    const xh = new Float32Array(n * c * h * w).map(() => Math.random() * 2 - 1);
    const dyh = new Float32Array(n * c * size[0] * size[1]).map(() => Math.random() * 2 - 1);
    const x = uploadTensor(gpu, shape, "f32", xh);
    const rec = gpu.kernels.recorder();
    const y = recordResizeBilinear(gpu, rec, x, [size[0], size[1]]);
    rec.submit();
    const yh = await downloadTensor(y) as Float32Array;
    x.release();
    y.release();
    const dxh = await run(dyh, [n, c, size[0], size[1]], [...shape]);
    let lhs = 0;
    let rhs = 0;
    yh.forEach((v, i) => lhs += v * dyh[i]);
    xh.forEach((v, i) => rhs += v * dxh[i]);
    assertClose([rhs], [lhs], { atol: 1e-5, rtol: 1e-5 }, `adjoint ${shape} -> ${size}`);
  }
});
