import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, emptyTensor, uploadTensor } from "../tensor.ts";
import { type BlendWindow, recordBlendFlush, recordBlendTile } from "./mod.ts";
import { blendRef } from "./ref.ts";

/** Whole-map blending in one band (ring = fragment): every tile, then one flush. */
async function check(window: BlendWindow, maxBinding?: number): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const [channels, tile, height, width] = [2, 8, 21, 19];
    // Overlapping tiles on a stride-4 grid, some hanging over the edge, one pixel band never covered.
    const origins: [number, number][] = [[0, 0], [0, 4], [4, 0], [4, 4], [12, 12], [16, 8]];
    const maps = new Float32Array(origins.length * channels * tile * tile);
    for (let i = 0; i < maps.length; i++) maps[i] = Math.random() * 10 - 5;
    const t = uploadTensor(gpu, [origins.length, channels, tile, tile], "f32", maps);
    const ring = {
      sum: emptyTensor(gpu, [height, width], "f32"),
      count: emptyTensor(gpu, [height, width], "f32"),
    };
    const out = emptyTensor(gpu, [height, width], "f32");
    const n = channels * tile * tile;
    const want = blendRef(
      origins.map((origin, i) => ({ map: maps.subarray(i * n, (i + 1) * n), origin })),
      channels,
      tile,
      height,
      width,
      window,
    );
    for (let c = 0; c < channels; c++) {
      const rec = gpu.kernels.recorder();
      rec.clear(ring.sum.buffer).clear(ring.count.buffer);
      origins.forEach((o, i) =>
        recordBlendTile(gpu, rec, ring, t, i, c, o, { height, fromRow: 0, window })
      );
      recordBlendFlush(gpu, rec, ring, 0, height, out.buffer);
      rec.submit();
      const got = await downloadTensor(out) as Float32Array;
      const plane = want.subarray(c * height * width, (c + 1) * height * width);
      assertClose(got, plane, { atol: 1e-5, rtol: 1e-5 }, `blend ${window.kind} channel ${c}`);
      const left = await downloadTensor(ring.count) as Float32Array;
      if (left.some((x) => x !== 0)) throw new Error("the flush must clear the ring rows");
    }
    for (const x of [t, ring.sum, ring.count, out]) x.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("blend matches its reference with overlaps, edges and gaps", async () => {
  await check({ kind: "uniform" });
});

Deno.test("blend with a Gaussian window matches its reference", async () => {
  await check({ kind: "gaussian", sigma: 2 });
});

Deno.test("blend windows rows under a small binding limit", async () => {
  await check({ kind: "uniform" }, 1024);
});
