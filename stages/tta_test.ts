import assert from "node:assert/strict";
import { UserError } from "../data/errors.ts";
import { memoryVolume } from "../data/memory_volume.ts";
import { getGpu } from "../kernels/device.ts";
import { assertClose } from "../kernels/compare.ts";
import { recordAddBroadcast } from "../kernels/add_broadcast/mod.ts";
import { recordFlattenDepth } from "../kernels/flatten_depth/mod.ts";
import { flattenDepthRef } from "../kernels/flatten_depth/ref.ts";
import { rot90Ref, undoVariantRef } from "../kernels/rot90/ref.ts";
import { downloadTensor, type GpuTensor, uploadTensor } from "../kernels/tensor.ts";
import { flattenDepth } from "./flatten_depth.ts";
import { makeBatch, tileStream } from "./tile_crop.ts";
import { ttaExpand, ttaMerge, type TtaMode, ttaVariants } from "./tta.ts";
import { testContext } from "./_testing.ts";
import type { GpuBatch, MapStream, StageContext, TileStream } from "./types.ts";

const T = 16;
const D = 3;
const SHAPE: [number, number, number] = [D, 40, 44]; // 5 x 5 tiles at stride 8, batches of 3 + 1

const ctx: StageContext = await testContext();

const VOLUME = new Uint16Array(SHAPE[0] * SHAPE[1] * SHAPE[2]).map(() =>
  Math.floor(Math.random() * 65536)
);

function tiles(): TileStream {
  const vol = {
    kind: "volume" as const,
    source: memoryVolume(VOLUME, SHAPE),
    normalize: "u16" as const,
  };
  return tileStream(getGpu, vol, {
    tile: T,
    stride: 8,
    batch: 3,
    padding: "seed",
    keep: "all",
    min_mask_coverage: 0,
  });
}

/** A per-tile "model" that keeps the stream's other fields (its `tta` too). */
function model(input: TileStream, fn: (x: GpuTensor) => GpuTensor): MapStream {
  async function* run(): AsyncGenerator<GpuBatch> {
    for await (const b of input.batches) {
      const y = fn(b.tensor);
      b.release();
      yield makeBatch(y, b.origins, b.count);
    }
  }
  return { ...input, kind: "maps", batches: run() };
}

/** Depth max: equivariant under rotations and flips. */
async function depthMax(input: TileStream): Promise<MapStream> {
  const gpu = await getGpu();
  return model(input, (x) => {
    const rec = gpu.kernels.recorder();
    const y = recordFlattenDepth(gpu, rec, x, "max");
    rec.submit();
    return y;
  });
}

/** Depth max plus a fixed (T, T) bias map: not equivariant. */
async function depthMaxPlusBias(input: TileStream, bias: GpuTensor): Promise<MapStream> {
  const gpu = await getGpu();
  return model(input, (x) => {
    const rec = gpu.kernels.recorder();
    const m = recordFlattenDepth(gpu, rec, x, "max");
    const y = recordAddBroadcast(gpu, rec, m, bias);
    rec.submit();
    m.release();
    return y;
  });
}

/** Downloads a map stream into one map per origin ("y,x"), checking batch counts. */
async function collect(stream: MapStream): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for await (const b of stream.batches) {
    const host = await downloadTensor(b.tensor) as Float32Array;
    const per = host.length / b.tensor.shape[0];
    assert.equal(b.origins.length, 2 * b.count);
    for (let i = 0; i < b.count; i++) {
      out.set(`${b.origins[2 * i]},${b.origins[2 * i + 1]}`, host.slice(i * per, (i + 1) * per));
    }
    b.release();
  }
  return out;
}

async function expand(mode: TtaMode, input = tiles()): Promise<TileStream> {
  return (await ttaExpand.run(ctx, { tiles: input }, { mode })).tiles as TileStream;
}

async function merge(maps: MapStream): Promise<MapStream> {
  return (await ttaMerge.run(ctx, { maps }, {})).maps as MapStream;
}

Deno.test("tta with a rotation-equivariant model (depth max) equals no TTA", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const plain = await flattenDepth.run(ctx, { tiles: tiles() }, { reduce: "max" });
  const want = await collect(plain.maps as MapStream);
  assert.equal(want.size, 25);
  for (const mode of ["rot90", "rot90_flip", "none"] as const) {
    const expanded = await expand(mode);
    const g = ttaVariants(mode).length;
    assert.equal(expanded.total, 25 * g);
    assert.equal(expanded.tta?.variants.length, g);
    const merged = await merge(await depthMax(expanded));
    assert.equal(merged.total, 25);
    assert.equal(merged.tta, undefined);
    const got = await collect(merged);
    assert.deepEqual([...got.keys()], [...want.keys()], mode);
    for (const [origin, map] of got) {
      assertClose(map, want.get(origin)!, { atol: 1e-6, rtol: 0 }, `${mode} tile ${origin}`);
    }
  }
  assert.equal(gpu.pool.stats().inUseBytes, before);
});

Deno.test("tta with a non-equivariant model matches the seed's mean of rotated-back maps", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const biasHost = new Float32Array(T * T).map(() => Math.random() * 2 - 1);
  const bias = uploadTensor(gpu, [T, T], "f32", biasHost);
  // The input tiles, on the host, by origin.
  const inputs = new Map<string, Float32Array>();
  for await (const b of tiles().batches) {
    const host = await downloadTensor(b.tensor) as Float32Array;
    const per = D * T * T;
    for (let i = 0; i < b.count; i++) {
      inputs.set(`${b.origins[2 * i]},${b.origins[2 * i + 1]}`, host.slice(i * per, (i + 1) * per));
    }
    b.release();
  }
  for (const mode of ["rot90", "rot90_flip"] as const) {
    const got = await collect(await merge(await depthMaxPlusBias(await expand(mode), bias)));
    assert.equal(got.size, inputs.size);
    const variants = ttaVariants(mode);
    for (const [origin, x] of inputs) {
      // mean over variants of undo_v(model(v(x))), step by step as the seed does.
      const want = new Float32Array(T * T);
      for (const v of variants) {
        const turned = rot90Ref({ data: x, shape: [1, 1, D, T, T] }, v.k, v.flip);
        const y = flattenDepthRef(turned.data, [1, 1, D, T, T], "max");
        for (let i = 0; i < y.length; i++) y[i] += biasHost[i];
        const back = undoVariantRef({ data: y, shape: [1, 1, T, T] }, v);
        for (let i = 0; i < want.length; i++) want[i] += back.data[i];
      }
      for (let i = 0; i < want.length; i++) want[i] /= variants.length;
      assertClose(got.get(origin)!, want, { atol: 1e-6, rtol: 1e-6 }, `${mode} tile ${origin}`);
    }
  }
  bias.release();
  assert.equal(gpu.pool.stats().inUseBytes, before);
});

Deno.test("tta_expand lays out variants by the batch's count and repeats origins", async () => {
  const expanded = await expand("rot90");
  const counts: number[] = [];
  for await (const b of expanded.batches) {
    const n = b.count / 4;
    counts.push(b.count);
    assert.deepEqual(b.tensor.shape, [12, 1, D, T, T]); // G x the allocated batch of 3
    for (let g = 1; g < 4; g++) {
      assert.deepEqual(
        b.origins.subarray(2 * g * n, 2 * (g + 1) * n),
        b.origins.subarray(0, 2 * n),
      );
    }
    b.release();
  }
  assert.deepEqual(counts, [12, 12, 12, 12, 12, 12, 12, 12, 4]);
});

Deno.test("tta streams release their GPU memory when the consumer stops early", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const merged = await merge(await depthMax(await expand("rot90_flip")));
  for await (const b of merged.batches) {
    b.release();
    break;
  }
  assert.equal(gpu.pool.stats().inUseBytes, before);
});

Deno.test("tta_merge needs a tta_expand upstream; tta_expand cannot be stacked", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const plain = (await flattenDepth.run(ctx, { tiles: tiles() }, { reduce: "max" })).maps;
  await assert.rejects(
    () => ttaMerge.run(ctx, { maps: plain }, {}),
    (e) =>
      e instanceof UserError && /carry no test-time augmentation/.test(e.message) &&
      !e.message.includes("\n"),
  );
  await (plain as MapStream).batches[Symbol.asyncIterator]().return?.();
  const once = await expand("rot90");
  await assert.rejects(() => ttaExpand.run(ctx, { tiles: once }, { mode: "rot90" }), UserError);
  await once.batches[Symbol.asyncIterator]().return?.();
  assert.equal(gpu.pool.stats().inUseBytes, before);
});

Deno.test("tta_merge names a stage between that reorders items", async () => {
  const gpu = await getGpu();
  const before = gpu.pool.stats().inUseBytes;
  const expanded = await expand("rot90");
  async function* swapped(): AsyncGenerator<GpuBatch> {
    for await (const b of expanded.batches) {
      const o = b.origins.slice();
      o.set([o[2], o[3], o[0], o[1]]); // variant 0's first two tiles swapped
      yield { ...b, origins: o };
    }
  }
  const merged = await merge(await depthMax({ ...expanded, batches: swapped() }));
  await assert.rejects(
    () => collect(merged),
    (e) => e instanceof UserError && /must keep every batch's items in order/.test(e.message),
  );
  assert.equal(gpu.pool.stats().inUseBytes, before);
});
