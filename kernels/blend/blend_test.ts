import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, emptyTensor, uploadTensor, writeTensor } from "../tensor.ts";
import { recordBlendFinalize, recordBlendTile } from "./mod.ts";
import { blendRef } from "./ref.ts";

async function check(maxBinding?: number): Promise<void> {
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
    const acc = {
      sum: emptyTensor(gpu, [1, channels, height, width], "f32"),
      count: emptyTensor(gpu, [height, width], "f32"),
    };
    writeTensor(acc.sum, new Float32Array(channels * height * width));
    writeTensor(acc.count, new Float32Array(height * width));
    const rec = gpu.kernels.recorder();
    origins.forEach((o, i) => recordBlendTile(gpu, rec, acc, t, i, o));
    recordBlendFinalize(gpu, rec, acc);
    rec.submit();
    const got = await downloadTensor(acc.sum) as Float32Array;
    const n = channels * tile * tile;
    const want = blendRef(
      origins.map((origin, i) => ({ map: maps.subarray(i * n, (i + 1) * n), origin })),
      channels,
      tile,
      height,
      width,
    );
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, "blend");
    for (const x of [t, acc.sum, acc.count]) x.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("blend matches its reference with overlaps, edges and gaps", async () => {
  await check();
});

Deno.test("blend windows rows under a small binding limit", async () => {
  await check(1024);
});
