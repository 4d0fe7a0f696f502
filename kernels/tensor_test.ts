import assert from "node:assert/strict";
import { getGpu } from "./device.ts";
import { downloadTensor, emptyTensor, numel, uploadTensor, writeTensor } from "./tensor.ts";

Deno.test("tensors of every element type round-trip through the GPU, odd lengths included", async () => {
  const gpu = await getGpu();
  const shape = [3, 5, 7]; // 105 elements: not a whole number of words for u8/u16/f16
  const n = numel(shape);
  const cases = [
    ["f32", Float32Array.from({ length: n }, () => Math.random() * 2 - 1)],
    ["u8", Uint8Array.from({ length: n }, () => Math.floor(Math.random() * 256))],
    ["u16", Uint16Array.from({ length: n }, () => Math.floor(Math.random() * 65536))],
    ["f16", Uint16Array.from({ length: n }, () => Math.floor(Math.random() * 0x7c00))], // raw half bits
    ["u32", Uint32Array.from({ length: n }, () => Math.floor(Math.random() * 2 ** 32))],
    ["i32", Int32Array.from({ length: n }, () => Math.floor(Math.random() * 2 ** 31) - 2 ** 30)],
  ] as const;
  for (const [dtype, data] of cases) {
    const t = uploadTensor(gpu, shape, dtype, data);
    assert.equal(t.byteLength % 4, 0);
    assert.deepEqual(await downloadTensor(t), data, dtype);
    t.release();
  }
});

Deno.test("writeTensor writes at an element offset and release is checked", async () => {
  const gpu = await getGpu();
  const t = emptyTensor(gpu, [8], "f32");
  writeTensor(t, new Float32Array(8));
  writeTensor(t, new Float32Array([5, 6]), 3);
  assert.deepEqual([...await downloadTensor(t)], [0, 0, 0, 5, 6, 0, 0, 0]);
  assert.throws(() => writeTensor(t, new Float32Array(1), 0.5), /not 4-byte aligned/);
  t.release();
  assert.throws(() => t.release(), /released twice/);
  assert.throws(
    () => uploadTensor(gpu, [2], "f32", new Float32Array(3)),
    /needs 2 elements, got 3/,
  );
});
