import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordAttention } from "./mod.ts";
import { attentionRef } from "./ref.ts";

function rand(n: number, s = 1): Float32Array {
  return new Float32Array(n).map(() => (Math.random() * 2 - 1) * s);
}

interface Case {
  b: number;
  tq: number;
  tk: number;
  heads: number;
  dh: number;
  /** Magnitude of q and k entries (large values give scores in the hundreds). */
  mag?: number;
  maxBinding?: number;
}

async function separate(c: Case): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (c.maxBinding) gpu.maxBinding = c.maxBinding;
  try {
    const ch = c.heads * c.dh;
    const [qh, kh, vh] = [
      rand(c.b * c.tq * ch, c.mag),
      rand(c.b * c.tk * ch, c.mag),
      rand(c.b * c.tk * ch),
    ];
    const q = uploadTensor(gpu, [c.b, c.tq, ch], "f32", qh);
    const k = uploadTensor(gpu, [c.b, c.tk, ch], "f32", kh);
    const v = uploadTensor(gpu, [c.b, c.tk, ch], "f32", vh);
    const rec = gpu.kernels.recorder();
    const o = recordAttention(gpu, rec, q, k, v, { heads: c.heads });
    rec.submit();
    const got = await downloadTensor(o) as Float32Array;
    const want = attentionRef(
      { data: qh, ld: ch },
      { data: kh, ld: ch },
      { data: vh, ld: ch },
      c.b,
      c.tq,
      c.tk,
      c.heads,
      c.dh,
      1 / Math.sqrt(c.dh),
    );
    // Outputs are convex combinations of values in [-1, 1]; large scores sharpen the softmax,
    // where float32 scores carry absolute errors of ~1e-7 * |s|.
    const atol = 2e-6 * Math.max(1, (c.mag ?? 1) ** 2);
    assertClose(got, want, { atol, rtol: 1e-4 }, `attention ${JSON.stringify(c)}`);
    for (const t of [q, k, v, o]) t.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("attention matches the naive reference (ragged Tk, several heads, B > 1)", async () => {
  await separate({ b: 2, tq: 21, tk: 13, heads: 3, dh: 8 });
  await separate({ b: 1, tq: 16, tk: 37, heads: 2, dh: 16 });
  await separate({ b: 2, tq: 9, tk: 6, heads: 2, dh: 64 }); // the real models' head size
  await separate({ b: 2, tq: 10, tk: 7, heads: 4, dh: 4 }); // the tiny fixtures' head sizes
  await separate({ b: 1, tq: 12, tk: 4, heads: 2, dh: 12 });
});

Deno.test("attention stays finite and exact with scores in the hundreds", async () => {
  await separate({ b: 1, tq: 9, tk: 20, heads: 1, dh: 16, mag: 8 });
});

Deno.test("attention reads q, k and v from one fused qkv tensor", async () => {
  const gpu = await getGpu();
  const [b, t, heads, dh] = [2, 11, 2, 8];
  const ch = heads * dh;
  const qkv = rand(b * t * 3 * ch);
  const x = uploadTensor(gpu, [b, t, 3 * ch], "f32", qkv);
  const rec = gpu.kernels.recorder();
  const o = recordAttention(gpu, rec, x, x, x, {
    heads,
    channels: ch,
    qOffset: 0,
    kOffset: ch,
    vOffset: 2 * ch,
  });
  rec.submit();
  const got = await downloadTensor(o) as Float32Array;
  const want = attentionRef(
    { data: qkv, ld: 3 * ch, offset: 0 },
    { data: qkv, ld: 3 * ch, offset: ch },
    { data: qkv, ld: 3 * ch, offset: 2 * ch },
    b,
    t,
    t,
    heads,
    dh,
    1 / Math.sqrt(dh),
  );
  assertClose(got, want, { atol: 2e-6, rtol: 1e-4 }, "attention qkv");
  x.release();
  o.release();
});

Deno.test("attention windows batch items and query rows under a small binding limit", async () => {
  // One item's q is 40 x 16 floats (2.5 KB): query rows are cut into chunks.
  await separate({ b: 3, tq: 40, tk: 10, heads: 2, dh: 8, maxBinding: 1536 });
});
