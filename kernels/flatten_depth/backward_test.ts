import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { recordFlattenMaxBackward } from "./mod.ts";
import { flattenMaxBackwardRef } from "./ref.ts";

const FIXTURE = new URL("../../tests/fixtures/grads/norm_grads.safetensors", import.meta.url);

Deno.test("flatten_depth max backward matches PyTorch (x.max(dim=2)), ties included", async () => {
  const gpu = await getGpu();
  const dict = await readSafetensors(FIXTURE.pathname);
  for (const name of ["flat", "flat_ties"]) {
    const [x, dy] = await Promise.all(["x", "dy"].map(async (k) => {
      const t = dict.get(`${name}.${k}`)!;
      return uploadTensor(gpu, t.shape, "f32", await t.data());
    }));
    const rec = gpu.kernels.recorder("test");
    const dx = recordFlattenMaxBackward(gpu, rec, x, dy);
    rec.submit();
    const got = await downloadTensor(dx) as Float32Array;
    assertClose(got, await dict.get(`${name}.dx`)!.data(), { atol: 0, rtol: 0 }, `${name} dx`);
    for (const t of [x, dy, dx]) t.release();
  }
});

Deno.test("flatten_depth max backward sends ties to the first maximum", async () => {
  const gpu = await getGpu();
  const shape: [number, number, number, number, number] = [2, 3, 6, 5, 7];
  const size = shape.reduce((a, b) => a * b);
  // Few distinct values: many ties along depth.
  const xs = new Float32Array(size).map(() => Math.floor(Math.random() * 3));
  const dys = new Float32Array(size / shape[2]).map(() => Math.random() * 2 - 1);
  const x = uploadTensor(gpu, shape, "f32", xs);
  const dy = uploadTensor(gpu, [2, 3, 5, 7], "f32", dys);
  const rec = gpu.kernels.recorder("test");
  const dx = recordFlattenMaxBackward(gpu, rec, x, dy);
  rec.submit();
  const got = await downloadTensor(dx) as Float32Array;
  assertClose(got, flattenMaxBackwardRef(xs, dys, shape), { atol: 0, rtol: 0 }, "ties");
  for (const t of [x, dy, dx]) t.release();
});
