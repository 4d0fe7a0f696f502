/**
 * `tile_crop`: streams a volume through the GPU as batches of float32 tiles.
 *
 * Rows are read from the volume one stride-high slab at a time into a ring
 * of `tile` rows on the GPU, so host and GPU memory stay bounded by one band
 * of the fragment whatever its height. Tiles follow the seed: zero padding to
 * a whole number of tiles (with its extra-tile quirk), origins on a stride
 * grid, and a tile is kept when any of its voxels is non-zero (and,
 * optionally, when enough of it lies inside the mask).
 *
 * @module
 */

import * as v from "valibot";
import type { Gpu } from "../kernels/device.ts";
import { recordTileCrop } from "../kernels/tile_crop/mod.ts";
import { emptyTensor, type GpuTensor } from "../kernels/tensor.ts";
import { UserError } from "../data/errors.ts";
import { imageRows } from "../data/image.ts";
import type { GpuBatch, ResumePoint, Stage, TileGrid, TileStream, VolumePort } from "./types.ts";
import { BlockGrid, gcd, paddedSize, tileOrigins } from "./tiling.ts";

const params = v.object({
  tile: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(8),
      v.multipleOf(4),
      v.description("Tile edge in pixels"),
    ),
    256,
  ),
  stride: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Distance between tile origins; 0 means tile / 4, the seed's choice"),
    ),
    0,
  ),
  batch: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.maxValue(256),
      v.description("Tiles per GPU batch"),
    ),
    4,
  ),
  padding: v.optional(
    v.pipe(
      v.picklist(["seed", "minimal"]),
      v.description(
        "seed: pad by tile - dim % tile (a whole extra tile when divisible); minimal: to the next multiple",
      ),
    ),
    "seed",
  ),
  keep: v.optional(
    v.pipe(
      v.picklist(["nonzero", "all"]),
      v.description(
        "nonzero: keep a tile if any voxel is non-zero (the seed); all: keep every grid position",
      ),
    ),
    "nonzero",
  ),
  min_mask_coverage: v.optional(
    v.pipe(
      v.number(),
      v.minValue(0),
      v.maxValue(1),
      v.description("Also require this fraction of the tile inside the mask (0 disables)"),
    ),
    0,
  ),
});

/** Parameters of `tile_crop`. */
export type TileCropParams = v.InferOutput<typeof params>;

/** The `tile_crop` stage. */
export const tileCrop: Stage<TileCropParams> = {
  name: "tile_crop",
  version: "1",
  description:
    "Crop a volume into normalised float32 tile batches on the GPU (seed padding and tile selection)",
  params,
  inputs: {
    volume: { kind: "volume", description: "The volume to tile" },
  },
  outputs: {
    tiles: {
      kind: "tiles",
      dtype: "f32",
      shape: "(B, 1, D, T, T)",
      range: [0, 1],
      description: "Tile batches with their origins in the padded fragment",
    },
  },
  run(ctx, inputs, p) {
    const vol = inputs.volume as VolumePort;
    const stride = p.stride === 0 ? p.tile / 4 : p.stride;
    if (!Number.isInteger(stride) || stride < 1 || stride > p.tile) {
      throw new UserError(
        `parameter "stride" must be an integer between 1 and the tile (${p.tile}), got ${stride}`,
      );
    }
    const stream = tileStream(ctx.gpu, vol, { ...p, stride }, (n) => ctx.progress.tick(n));
    ctx.progress.start(stream.total, "tiles");
    return Promise.resolve({ tiles: stream });
  },
};

/** Options of {@linkcode tileStream}: the stage's parameters with the stride resolved. */
export type TileStreamOptions = Omit<TileCropParams, "stride"> & { stride: number };

/**
 * Builds the tile stream of a volume. Pure orchestration: reading slabs,
 * uploading them into the GPU ring, choosing tiles and recording crops.
 */
export function tileStream(
  getGpu: () => Promise<Gpu>,
  vol: VolumePort,
  o: TileStreamOptions,
  onPositions: (n: number) => void = () => {},
): TileStream {
  const [depth, height, width] = vol.source.shape;
  const grid: TileGrid = {
    tile: o.tile,
    stride: o.stride,
    height,
    width,
    paddedHeight: paddedSize(height, o.tile, o.padding),
    paddedWidth: paddedSize(width, o.tile, o.padding),
  };
  const ys = tileOrigins(grid.paddedHeight, o.tile, o.stride);
  const xs = tileOrigins(grid.paddedWidth, o.tile, o.stride);
  if (vol.mask && (vol.mask.height !== height || vol.mask.width !== width)) {
    throw new UserError(
      `Mask of "${vol.source.path}" is ${vol.mask.width}x${vol.mask.height} but the volume is ${width}x${height}`,
    );
  }
  const resume: ResumePoint = { row: 0 };
  return {
    kind: "tiles",
    grid,
    depth,
    channels: 1,
    total: ys.length * xs.length,
    mask: vol.mask,
    labels: vol.labels,
    resume,
    batches: generate(getGpu, vol, o, grid, ys, xs, onPositions, resume),
  };
}

async function* generate(
  getGpu: () => Promise<Gpu>,
  vol: VolumePort,
  o: TileStreamOptions,
  grid: TileGrid,
  ys: number[],
  xs: number[],
  onPositions: (n: number) => void,
  resume: ResumePoint,
): AsyncGenerator<GpuBatch> {
  const gpu = await getGpu();
  const [depth, height, width] = vol.source.shape;
  const srcBits = vol.source.dtype === "uint8" ? 8 : 16;
  // The seed reads 16-bit slices as v >> 8 (then / 255): keep the ring in
  // 8 bits then, halving its memory and the upload, with identical values.
  const seed8 = srcBits === 16 && vol.normalize === "seed";
  const bits = seed8 ? 8 : srcBits;
  const normalize = seed8 ? "u8" : vol.normalize;
  // Rows per read and upload: a bounded slab, whatever the fragment's width and depth.
  const slabRows = Math.max(1, Math.floor(SLAB_BYTES / (depth * width * (srcBits / 8))));
  const perWord = 32 / bits;
  const pitch = Math.ceil(width / perWord) * perWord;
  const ringRows = o.tile;
  const ring = emptyTensor(
    gpu,
    [depth, ringRows, pitch],
    bits === 8 ? "u8" : "u16",
    "tile_crop/ring",
  );
  const blocks = new BlockGrid(grid.paddedHeight, grid.paddedWidth, gcd(o.tile, o.stride));
  const ringView = { tensor: ring, height, width };
  let loaded = 0; // rows [0, loaded) have been read
  let batch: { tensor: GpuTensor; origins: Int32Array; count: number } | undefined;
  let rec = gpu.kernels.recorder("tile_crop");

  const finish = (b: NonNullable<typeof batch>): GpuBatch => {
    rec.submit();
    rec = gpu.kernels.recorder("tile_crop");
    return makeBatch(b.tensor, b.origins.subarray(0, 2 * b.count), b.count);
  };

  try {
    for (const y0 of ys) {
      if (y0 + o.tile <= resume.row) {
        onPositions(xs.length); // the consumer already has these rows
        continue;
      }
      loaded = Math.max(loaded, y0); // rows above y0 are needed by no tile to come
      const need = Math.min(y0 + o.tile, height);
      if (loaded < need) {
        rec.submit(); // crops recorded so far must read the ring before it is overwritten
        rec = gpu.kernels.recorder("tile_crop");
        while (loaded < need) {
          const rows = Math.min(o.stride, need - loaded, ringRows, slabRows);
          const raw = await vol.source.readRegion(loaded, loaded + rows, 0, width);
          const slab = seed8 ? shiftTo8(raw as Uint16Array) : raw;
          // The keep rule tests the values the tiles get: after v >> 8 for the seed's read.
          blocks.addVoxels(slab, loaded, rows, width);
          if (vol.mask) {
            blocks.addMask(imageRows(vol.mask, loaded, loaded + rows), loaded, rows, width);
          }
          uploadSlab(gpu, ring, slab, loaded, rows, width, pitch);
          loaded += rows;
        }
      }
      for (const x0 of xs) {
        const keep = (o.keep === "all" || blocks.anyNonzero(y0, x0, o.tile)) &&
          (o.min_mask_coverage === 0 || blocks.maskCoverage(y0, x0, o.tile) >= o.min_mask_coverage);
        if (!keep) continue;
        batch ??= {
          tensor: emptyTensor(gpu, [o.batch, 1, depth, o.tile, o.tile], "f32", "tile_crop/batch"),
          origins: new Int32Array(2 * o.batch),
          count: 0,
        };
        recordTileCrop(gpu, rec, ringView, batch.tensor, batch.count, [y0, x0], normalize);
        batch.origins.set([y0, x0], 2 * batch.count);
        if (++batch.count === o.batch) {
          const full = batch;
          batch = undefined;
          yield finish(full);
        }
      }
      onPositions(xs.length);
    }
    if (batch) {
      const last = batch;
      batch = undefined;
      yield finish(last);
    }
  } finally {
    batch?.tensor.release();
    ring.release();
  }
}

/** Host bytes of input read and uploaded at once (a slab of whole rows, at least one). */
const SLAB_BYTES = 16 << 20;

/** The seed's 8-bit read of 16-bit voxels: v >> 8. */
function shiftTo8(v: Uint16Array): Uint8Array {
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] >> 8;
  return out;
}

/** Writes a (D, rows, width) slab into ring rows `y0 % ringRows ...`, one write per layer and wrap. */
function uploadSlab(
  gpu: Gpu,
  ring: GpuTensor,
  slab: Uint8Array | Uint16Array,
  y0: number,
  rows: number,
  width: number,
  pitch: number,
): void {
  const [depth, ringRows] = ring.shape;
  const bpe = slab.BYTES_PER_ELEMENT;
  let src = slab;
  if (pitch !== width) {
    src = new (slab.constructor as Uint16ArrayConstructor)(depth * rows * pitch);
    for (let r = 0; r < depth * rows; r++) {
      src.set(slab.subarray(r * width, (r + 1) * width), r * pitch);
    }
  }
  const slot = y0 % ringRows;
  const first = Math.min(rows, ringRows - slot);
  for (let z = 0; z < depth; z++) {
    const layer = z * rows * pitch;
    const put = (fromRow: number, n: number, toSlot: number) => {
      const bytes = new Uint8Array(
        src.buffer as ArrayBuffer,
        src.byteOffset + (layer + fromRow * pitch) * bpe,
        n * pitch * bpe,
      );
      gpu.device.queue.writeBuffer(ring.buffer, ((z * ringRows + toSlot) * pitch) * bpe, bytes);
    };
    put(0, first, slot);
    if (first < rows) put(first, rows - first, 0);
  }
}

/** Wraps a tensor as a reference-counted batch. */
export function makeBatch(tensor: GpuTensor, origins: Int32Array, count: number): GpuBatch {
  let refs = 1;
  return {
    tensor,
    origins,
    count,
    retain() {
      refs++;
    },
    release() {
      if (--refs === 0) tensor.release();
      if (refs < 0) throw new Error("Batch released more often than retained");
    },
  };
}
