import { getGpu } from "../device.ts";
import { assertClose } from "../compare.ts";
import { downloadTensor, emptyTensor, uploadTensor } from "../tensor.ts";
import { type NormalizeMode, recordTileCrop } from "./mod.ts";
import { tileCropRef } from "./ref.ts";

function randomVolume(n: number, bits: 8 | 16): Uint8Array | Uint16Array {
  const max = bits === 8 ? 256 : 65536;
  const a = bits === 8 ? new Uint8Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.floor(Math.random() * max);
  return a;
}

async function check(
  bits: 8 | 16,
  mode: NormalizeMode,
  maxBinding?: number,
): Promise<void> {
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const [d, h, w] = [3, 37, 44]; // w divisible by 4 so it is also the pitch
    const vol = randomVolume(d * h * w, bits);
    const ring = {
      tensor: uploadTensor(gpu, [d, h, w], bits === 8 ? "u8" : "u16", vol),
      height: h,
      width: w,
    };
    const tile = 16;
    // Aligned and unaligned interior runs, and runs over the right and bottom edges.
    const origins: [number, number][] = [[0, 0], [8, 12], [5, 7], [1, 13], [24, 32], [36, 40]];
    const out = emptyTensor(gpu, [origins.length, 1, d, tile, tile], "f32");
    const rec = gpu.kernels.recorder("test");
    origins.forEach((o, i) => recordTileCrop(gpu, rec, ring, out, i, o, mode));
    rec.submit();
    const got = await downloadTensor(out) as Float32Array;
    origins.forEach((o, i) => {
      const want = tileCropRef(vol, [d, h, w], tile, o, mode);
      const n = d * tile * tile;
      assertClose(got.subarray(i * n, (i + 1) * n), want, { atol: 1e-6, rtol: 1e-6 }, `tile ${o}`);
    });
    ring.tensor.release();
    out.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

Deno.test("tile_crop matches its reference for 16-bit volumes in every mode", async () => {
  for (const mode of ["seed", "u16", "u8", "none"] as const) await check(16, mode);
});

Deno.test("tile_crop matches its reference for 8-bit volumes", async () => {
  await check(8, "seed");
  await check(8, "none");
});

Deno.test("tile_crop splits layers into windows under a small binding limit", async () => {
  // One plane of the 16x16 tile is 1 KiB; the ring plane 3.2 KiB: forces one layer per window.
  await check(16, "seed", 4096);
});
