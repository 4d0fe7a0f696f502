import assert from "node:assert/strict";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import {
  inverseVariant,
  recordRot90,
  recordTtaExpand,
  recordTtaMerge,
  type Rot90Variant,
} from "./mod.ts";
import { type HostPlanes, rot90Ref, ttaExpandRef, ttaMergeRef } from "./ref.ts";

const ROT90: Rot90Variant[] = [0, 1, 2, 3].map((k) => ({ k, flip: false }));
const ROT90_FLIP: Rot90Variant[] = [...ROT90, ...ROT90.map((v) => ({ ...v, flip: true }))];

function random(shape: number[]): HostPlanes {
  const n = shape.reduce((a, b) => a * b, 1);
  return { data: new Float32Array(n).map(() => Math.random() * 4 - 2), shape };
}

/** Runs `fn` with `gpu.maxBinding` lowered to `maxBinding` (when given). */
async function withBinding<T>(maxBinding: number | undefined, fn: () => Promise<T>): Promise<T> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    return await fn();
  } finally {
    gpu.maxBinding = saved;
  }
}

async function gpuRot90(x: HostPlanes, k: number, flip: boolean): Promise<HostPlanes> {
  const gpu = await getGpu();
  const t = uploadTensor(gpu, x.shape, "f32", x.data);
  const rec = gpu.kernels.recorder();
  const y = recordRot90(gpu, rec, t, k, { flip });
  rec.submit();
  const data = await downloadTensor(y) as Float32Array;
  const out = { data, shape: [...y.shape] };
  t.release();
  y.release();
  return out;
}

async function checkRot90(shape: number[], maxBinding?: number): Promise<void> {
  await withBinding(maxBinding, async () => {
    const x = random(shape);
    for (let k = -5; k <= 6; k++) {
      for (const flip of [false, true]) {
        const want = rot90Ref(x, k, flip);
        const got = await gpuRot90(x, k, flip);
        assert.deepEqual(got.shape, want.shape, `k=${k} flip=${flip}`);
        assertClose(
          got.data,
          want.data,
          { atol: 0, rtol: 0 },
          `rot90 ${shape} k=${k} flip=${flip}`,
        );
      }
    }
  });
}

Deno.test("rot90 reference matches torch.rot90 on a hand-checked 2x3 example", () => {
  const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [2, 3] };
  const cases: [number, boolean, number[], number[]][] = [
    [1, false, [3, 2], [3, 6, 2, 5, 1, 4]], // torch.rot90([[1,2,3],[4,5,6]], 1)
    [2, false, [2, 3], [6, 5, 4, 3, 2, 1]],
    [3, false, [3, 2], [4, 1, 5, 2, 6, 3]],
    [-1, false, [3, 2], [4, 1, 5, 2, 6, 3]],
    [5, false, [3, 2], [3, 6, 2, 5, 1, 4]],
    [0, true, [2, 3], [3, 2, 1, 6, 5, 4]], // torch.flip(x, dims=(-1,))
    [1, true, [3, 2], [1, 4, 2, 5, 3, 6]], // rot90 of the mirror image: the transpose
  ];
  for (const [k, flip, shape, data] of cases) {
    const y = rot90Ref(x, k, flip);
    assert.deepEqual(y.shape, shape, `k=${k} flip=${flip}`);
    assert.deepEqual([...y.data], data, `k=${k} flip=${flip}`);
  }
});

Deno.test("rot90 kernel turns the 2x3 example like torch.rot90", async () => {
  const x = { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [1, 2, 3] };
  const y = await gpuRot90(x, 1, false);
  assert.deepEqual(y.shape, [1, 3, 2]);
  assert.deepEqual([...y.data], [3, 6, 2, 5, 1, 4]);
});

Deno.test("rot90 matches the reference for every k, with and without flip", async () => {
  await checkRot90([2, 3, 5, 7]); // H != W: odd k swaps the plane
  await checkRot90([2, 1, 3, 6, 6]); // a tile batch (N, C, D, T, T)
  await checkRot90([9, 1]);
});

Deno.test("inverseVariant undoes every variant", () => {
  const x = random([1, 4, 4]);
  for (const v of [...ROT90, ...ROT90_FLIP, { k: -3, flip: false }, { k: 7, flip: true }]) {
    const u = inverseVariant(v);
    const back = rot90Ref(rot90Ref(x, v.k, v.flip), u.k, u.flip);
    assert.deepEqual(back.data, x.data, `variant ${JSON.stringify(v)}`);
  }
});

async function checkTta(
  shape: number[],
  variants: Rot90Variant[],
  tiles: number,
  maxBinding?: number,
): Promise<void> {
  await withBinding(maxBinding, async () => {
    const gpu = await getGpu();
    const x = random(shape);
    const t = uploadTensor(gpu, shape, "f32", x.data);
    const rec = gpu.kernels.recorder();
    const e = recordTtaExpand(gpu, rec, t, variants, tiles);
    // The "model" for the merge: fresh random outputs, a non-equivariant one.
    const g = variants.length;
    const yh = random([g * shape[0], ...shape.slice(1)]);
    const y = uploadTensor(gpu, yh.shape, "f32", yh.data);
    const m = recordTtaMerge(gpu, rec, y, variants, tiles);
    // Round trip: the merge of the expansion is the input (identity model).
    const r = recordTtaMerge(gpu, rec, e, variants, tiles);
    rec.submit();
    const what = `${shape} g=${g} tiles=${tiles} maxBinding=${maxBinding}`;
    assert.deepEqual(e.shape, [g * shape[0], ...shape.slice(1)]);
    assert.deepEqual(m.shape, shape);
    const per = x.data.length / shape[0];
    const eh = (await downloadTensor(e) as Float32Array).subarray(0, g * tiles * per);
    assertClose(eh, ttaExpandRef(x, variants, tiles).data, { atol: 0, rtol: 0 }, `expand ${what}`);
    const mh = (await downloadTensor(m) as Float32Array).subarray(0, tiles * per);
    const mergeTol = { atol: 1e-6, rtol: 1e-6 };
    assertClose(mh, ttaMergeRef(yh, variants, tiles).data, mergeTol, `merge ${what}`);
    const rh = (await downloadTensor(r) as Float32Array).subarray(0, tiles * per);
    assertClose(rh, x.data.subarray(0, tiles * per), mergeTol, `round trip ${what}`);
    for (const z of [t, e, y, m, r]) z.release();
  });
}

Deno.test("tta expand and merge match the seed's procedure; merge of expand is the identity", async () => {
  await checkTta([3, 1, 6, 6], ROT90, 3);
  await checkTta([3, 2, 3, 5, 5], ROT90_FLIP, 2); // a partly filled batch of 5D tiles
  await checkTta([2, 1, 4, 6], [{ k: 0, flip: false }, { k: 2, flip: true }], 2); // even k: H != W
  await checkTta([2, 1, 4, 4], [{ k: -1, flip: false }, { k: 5, flip: true }, {
    k: 2,
    flip: false,
  }], 1);
});

Deno.test("rot90 and tta windows planes and variants under a small binding limit", async () => {
  const plane = 6 * 6 * 4;
  await checkRot90([3, 2, 6, 6], 2 * plane + 256); // two planes per window
  await checkTta([3, 2, 6, 6], ROT90, 3, 2 * plane + 256); // one variant per dispatch, accumulated
  await checkTta([4, 1, 6, 6], ROT90_FLIP, 3, 7 * plane + 256); // groups of two variants
  await checkTta([5, 1, 2, 6, 6], ROT90_FLIP, 4, plane + 256); // one plane at a time
});

Deno.test("tta kernels reject odd turns of non-square planes and ragged variant batches", async () => {
  const gpu = await getGpu();
  const t = uploadTensor(gpu, [3, 1, 4, 6], "f32", new Float32Array(72));
  const rec = gpu.kernels.recorder();
  assert.throws(() => recordTtaExpand(gpu, rec, t, ROT90), /odd quarter turns need square planes/);
  assert.throws(() => recordTtaMerge(gpu, rec, t, [ROT90[0], ROT90[2]]), /2 variants/);
  t.release();
});
