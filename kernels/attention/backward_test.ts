import { fileURLToPath } from "node:url";
import { readSafetensors } from "../../data/checkpoint/safetensors.ts";
import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, uploadTensor } from "../tensor.ts";
import { recordAttention, recordAttentionBackward } from "./mod.ts";
import { attentionBackwardRef } from "./ref.ts";

const FIXTURE = fileURLToPath(
  new URL("../../tests/fixtures/grads/transformer_grads.safetensors", import.meta.url),
);

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

function rand(n: number, s = 1): Float32Array {
  return new Float32Array(n).map(() => (Math.random() * 2 - 1) * s);
}

interface Grads {
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

/** Runs the backward kernels; `withOut` first runs the forward kernel and passes its output. */
async function run(
  dims: { b: number; tq: number; tk: number; heads: number; dh: number },
  qh: Float32Array,
  kh: Float32Array,
  vh: Float32Array,
  douth: Float32Array,
  withOut: boolean,
): Promise<Grads> {
  const gpu = await getGpu();
  const { b, tq, tk, heads, dh } = dims;
  const c = heads * dh;
  const q = uploadTensor(gpu, [b, tq, c], "f32", qh);
  const k = uploadTensor(gpu, [b, tk, c], "f32", kh);
  const v = uploadTensor(gpu, [b, tk, c], "f32", vh);
  const dout = uploadTensor(gpu, [b, tq, c], "f32", douth);
  const rec = gpu.kernels.recorder();
  const out = withOut ? recordAttention(gpu, rec, q, k, v, { heads }) : undefined;
  const g = recordAttentionBackward(gpu, rec, q, k, v, dout, { heads, out });
  rec.submit();
  const res = {
    dq: await downloadTensor(g.dq) as Float32Array,
    dk: await downloadTensor(g.dk) as Float32Array,
    dv: await downloadTensor(g.dv) as Float32Array,
  };
  for (const t of [q, k, v, dout, g.dq, g.dk, g.dv, ...(out ? [out] : [])]) t.release();
  return res;
}

Deno.test("attention backward matches PyTorch autograd (B 2, Tq 64, Tk 16, 2 heads of 8)", async () => {
  const f = await readSafetensors(FIXTURE);
  const names = ["q", "k", "v", "dout", "dq", "dk", "dv"];
  const [qh, kh, vh, douth, ...want] = await Promise.all(
    names.map((n) => f.get(`attn.${n}`)!.data()),
  );
  const dims = { b: 2, tq: 64, tk: 16, heads: 2, dh: 8 };
  const ref = attentionBackwardRef(qh, kh, vh, douth, 2, 64, 16, 2, 8, 1 / Math.sqrt(8));
  for (const withOut of [false, true]) {
    const got = await run(dims, qh, kh, vh, douth, withOut);
    (["dq", "dk", "dv"] as const).forEach((key, i) => {
      const tol = { atol: 1e-4 * maxAbs(want[i]), rtol: 1e-3 };
      if (!withOut) assertClose(ref[key], want[i], tol, `attention ${key} reference`);
      const c = assertClose(got[key], want[i], tol, `attention ${key} (out given: ${withOut})`);
      console.log(
        `attention ${key} vs PyTorch (out given: ${withOut}): ` +
          `max abs error ${c.maxAbsError.toExponential(2)} of max ${maxAbs(want[i]).toFixed(3)}`,
      );
    });
  }
});

interface Case {
  b: number;
  tq: number;
  tk: number;
  heads: number;
  dh: number;
  /** Magnitude of q and k entries (large values sharpen the softmax). */
  mag?: number;
}

async function check(cs: Case, withOut = false): Promise<void> {
  const c = cs.heads * cs.dh;
  const qh = rand(cs.b * cs.tq * c, cs.mag);
  const kh = rand(cs.b * cs.tk * c, cs.mag);
  const vh = rand(cs.b * cs.tk * c);
  const douth = rand(cs.b * cs.tq * c);
  const got = await run(cs, qh, kh, vh, douth, withOut);
  const want = attentionBackwardRef(
    qh,
    kh,
    vh,
    douth,
    cs.b,
    cs.tq,
    cs.tk,
    cs.heads,
    cs.dh,
    1 / Math.sqrt(cs.dh),
  );
  for (const key of ["dq", "dk", "dv"] as const) {
    // float32 scores carry absolute errors of ~1e-7·|s|, amplified by sharp softmaxes.
    const atol = 3e-6 * maxAbs(want[key]) * Math.max(1, (cs.mag ?? 1) ** 2);
    assertClose(
      got[key],
      want[key],
      { atol, rtol: 1e-4 },
      `attention ${key} ${JSON.stringify(cs)}`,
    );
  }
}

Deno.test("attention backward matches its reference (ragged T, head sizes 4..64)", async () => {
  await check({ b: 2, tq: 21, tk: 13, heads: 3, dh: 8 });
  await check({ b: 1, tq: 16, tk: 37, heads: 2, dh: 16 }, true);
  await check({ b: 2, tq: 9, tk: 6, heads: 2, dh: 64 });
  await check({ b: 1, tq: 7, tk: 10, heads: 1, dh: 32 }, true);
  await check({ b: 2, tq: 10, tk: 7, heads: 4, dh: 4 });
  await check({ b: 1, tq: 12, tk: 5, heads: 2, dh: 12 });
  await check({ b: 2, tq: 130, tk: 7, heads: 2, dh: 8 }); // dk, dv over 3 chunks of queries
});

Deno.test("attention backward stays finite and exact with scores in the hundreds", async () => {
  await check({ b: 1, tq: 9, tk: 20, heads: 1, dh: 16, mag: 8 });
});

Deno.test("attention backward with 4096 queries over 64 keys (64 chunks), 64 over 4096", async () => {
  await check({ b: 1, tq: 4096, tk: 64, heads: 1, dh: 32 });
  await check({ b: 1, tq: 64, tk: 4096, heads: 1, dh: 32 });
});
