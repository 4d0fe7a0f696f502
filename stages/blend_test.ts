import assert from "node:assert/strict";
import { getGpu } from "../kernels/device.ts";
import { assertClose } from "../kernels/compare.ts";
import type { BlendWindow } from "../kernels/blend/mod.ts";
import { blendRef } from "../kernels/blend/ref.ts";
import { uploadTensor } from "../kernels/tensor.ts";
import { BandBlender } from "./blend.ts";
import { makeBatch } from "./tile_crop.ts";
import type { GpuBatch } from "./types.ts";

const [TILE, STRIDE, HEIGHT, WIDTH, CHANNELS] = [8, 4, 27, 22, 2];

/** Row-ordered tiles on a stride grid over a padded fragment, some missing (as tile selection does). */
function tiles(): { map: Float32Array; origin: [number, number] }[] {
  const out: { map: Float32Array; origin: [number, number] }[] = [];
  for (let y = 0; y + TILE <= HEIGHT + TILE; y += STRIDE) {
    for (let x = 0; x + TILE <= WIDTH + TILE; x += STRIDE) {
      if ((y * 7 + x * 3) % 5 === 0) continue;
      const map = Float32Array.from(
        { length: CHANNELS * TILE * TILE },
        () => Math.random() * 8 - 4,
      );
      out.push({ map, origin: [y, x] });
    }
  }
  return out;
}

async function batches(list: ReturnType<typeof tiles>, size: number): Promise<GpuBatch[]> {
  const gpu = await getGpu();
  const out: GpuBatch[] = [];
  for (let i = 0; i < list.length; i += size) {
    const part = list.slice(i, i + size);
    const data = new Float32Array(size * CHANNELS * TILE * TILE);
    part.forEach((t, j) => data.set(t.map, j * t.map.length));
    const tensor = uploadTensor(gpu, [size, CHANNELS, TILE, TILE], "f32", data);
    out.push(makeBatch(tensor, Int32Array.from(part.flatMap((t) => t.origin)), part.length));
  }
  return out;
}

async function blendBands(
  list: ReturnType<typeof tiles>,
  o: { bandRows: number; channel?: number; window?: BlendWindow; firstBand?: number },
): Promise<Map<number, Float32Array>> {
  const bands = new Map<number, Float32Array>();
  const blender = new BandBlender(await getGpu(), {
    height: HEIGHT,
    width: WIDTH,
    tile: TILE,
    channel: o.channel ?? 0,
    bandRows: o.bandRows,
    window: o.window ?? { kind: "uniform" },
    firstBand: o.firstBand,
    onBand: (band, data) => {
      assert.ok(!bands.has(band), `band ${band} twice`);
      bands.set(band, data);
      return Promise.resolve();
    },
  });
  try {
    for (const b of await batches(list, 3)) {
      await blender.add(b);
      b.release();
    }
    await blender.finish();
  } finally {
    blender.release();
  }
  return bands;
}

function joined(bands: Map<number, Float32Array>): Float32Array {
  const out = new Float32Array(HEIGHT * WIDTH);
  let at = 0;
  for (let b = 0; bands.has(b); b++) out.set(bands.get(b)!, at), at += bands.get(b)!.length;
  assert.equal(at, out.length);
  return out;
}

Deno.test("band blending matches the whole-map reference for any band height", async () => {
  const list = tiles();
  for (
    const [bandRows, channel, window] of [
      [27, 0, { kind: "uniform" }],
      [5, 1, { kind: "uniform" }],
      [1, 0, { kind: "gaussian", sigma: 1.5 }],
      [12, 1, { kind: "gaussian", sigma: 3 }],
    ] as const
  ) {
    const got = joined(await blendBands(list, { bandRows, channel, window }));
    const want = blendRef(list, CHANNELS, TILE, HEIGHT, WIDTH, window)
      .subarray(channel * HEIGHT * WIDTH, (channel + 1) * HEIGHT * WIDTH);
    assertClose(got, want, { atol: 1e-5, rtol: 1e-5 }, `bands of ${bandRows}, ${window.kind}`);
  }
});

Deno.test("band blending resumed after finished bands gives the same bytes", async () => {
  const list = tiles();
  const whole = await blendBands(list, { bandRows: 5 });
  for (const firstBand of [1, 3, 5]) {
    const resumed = await blendBands(list, { bandRows: 5, firstBand });
    assert.deepEqual([...resumed.keys()], [...whole.keys()].slice(firstBand));
    for (const [band, data] of resumed) {
      assert.deepEqual(
        new Uint8Array(data.buffer),
        new Uint8Array(whole.get(band)!.buffer),
        `band ${band} resumed from ${firstBand}`,
      );
    }
  }
});

Deno.test("band blending rejects tiles out of row order", async () => {
  const list = tiles();
  [list[0], list[list.length - 1]] = [list[list.length - 1], list[0]];
  await assert.rejects(() => blendBands(list, { bandRows: 5 }), /tiles must come in row order/);
});
