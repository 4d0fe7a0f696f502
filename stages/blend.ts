/**
 * `blend`: accumulates per-tile maps into a whole-fragment map on the GPU,
 * exactly like the seed (uniform weights, sum and count maps, crop to the
 * original size, never-covered pixels 0), or with a Gaussian window.
 *
 * The accumulators cover only a ring of rows, and each band of rows is
 * finished, read back once and flushed to a Zarr array in the node's work
 * folder as soon as no tile still to come can touch it (tiles arrive in
 * row order), so memory does not grow with the fragment's height. When a
 * run is killed and started again with the same output folder, the bands
 * already flushed are kept: the tile producer upstream is told to skip the
 * tiles that lie wholly above them ({@linkcode ResumePoint}), and the bands
 * below are blended from the same tiles in the same order, so the result is
 * byte-identical to an uninterrupted run.
 *
 * @module
 */

import * as v from "valibot";
import {
  type BlendRing,
  type BlendWindow,
  recordBlendFlush,
  recordBlendTile,
} from "../kernels/blend/mod.ts";
import type { Gpu } from "../kernels/device.ts";
import { emptyTensor } from "../kernels/tensor.ts";
import { UserError } from "../data/errors.ts";
import { BandStore, DEFAULT_BAND_ROWS } from "./images.ts";
import type { GpuBatch, MapStream, Stage } from "./types.ts";

const params = v.object({
  channel: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(0),
      v.description("Which channel of the maps to output"),
    ),
    0,
  ),
  window: v.optional(
    v.pipe(
      v.picklist(["uniform", "gaussian"]),
      v.description("Tile pixel weights: uniform (the seed) or a Gaussian from the tile centre"),
    ),
    "uniform",
  ),
  sigma: v.optional(
    v.pipe(
      v.number(),
      v.gtValue(0),
      v.description("Gaussian sigma as a fraction of the tile (nnU-Net's 1/8)"),
    ),
    0.125,
  ),
  band_rows: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1),
      v.description(
        "Rows per band flushed to the work Zarr (memory: about (tile + 2 bands) x width x 12 bytes)",
      ),
    ),
    DEFAULT_BAND_ROWS,
  ),
});

/** Where {@linkcode BandBlender} sends each finished band. */
export type BandSink = (band: number, data: Float32Array) => Promise<void>;

/** Options of {@linkcode BandBlender}. */
export interface BandBlenderOptions {
  height: number;
  width: number;
  tile: number;
  /** The channel of the maps to blend. */
  channel: number;
  bandRows: number;
  window: BlendWindow;
  /** Bands already finished (resuming): tiles' rows above them are skipped. */
  firstBand?: number;
  /** Receives bands in order, each `min(bandRows, rest)` rows of `width` values. */
  onBand: BandSink;
}

/**
 * Band-by-band GPU blending of a row-ordered stream of tile maps. Feed it
 * batches with {@linkcode BandBlender.add}, then call
 * {@linkcode BandBlender.finish}; every band reaches `onBand` exactly once.
 */
export class BandBlender {
  readonly #gpu: Gpu;
  readonly #o: BandBlenderOptions;
  readonly #ring: BlendRing;
  readonly #staging: GPUBuffer;
  /** The next band to finish. */
  #next: number;
  #lastY0 = -1;

  constructor(gpu: Gpu, options: BandBlenderOptions) {
    this.#gpu = gpu;
    this.#o = options;
    const { width, bandRows, tile } = options;
    const ringRows = BandBlender.ringRows(tile, bandRows);
    this.#ring = {
      sum: emptyTensor(gpu, [ringRows, width], "f32", "blend/sum"),
      count: emptyTensor(gpu, [ringRows, width], "f32", "blend/count"),
    };
    this.#staging = gpu.device.createBuffer({
      size: Math.max(4, bandRows * width * 4),
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: "blend/band",
    });
    this.#next = options.firstBand ?? 0;
    gpu.kernels.recorder("blend/clear").clear(this.#ring.sum.buffer).clear(this.#ring.count.buffer)
      .submit();
  }

  /**
   * Ring rows for a tile and band height: a band plus a tile always fit, so
   * the rows of unfinished bands never share a ring row.
   */
  static ringRows(tile: number, bandRows: number): number {
    return bandRows * (1 + Math.ceil(tile / bandRows));
  }

  get #bands(): number {
    return Math.ceil(this.#o.height / this.#o.bandRows);
  }

  /** The first row not yet finished. */
  get #fromRow(): number {
    return Math.min(this.#next * this.#o.bandRows, this.#o.height);
  }

  /** Adds a batch of (B, C, T, T) maps; finishes the bands above its tiles. */
  async add(batch: GpuBatch): Promise<void> {
    const { tile, channel, height, window } = this.#o;
    let rec = this.#gpu.kernels.recorder("blend");
    for (let i = 0; i < batch.count; i++) {
      const [y0, x0] = [batch.origins[2 * i], batch.origins[2 * i + 1]];
      if (y0 + tile <= this.#fromRow) continue; // already in finished bands
      if (y0 < this.#lastY0) {
        throw new Error(`blend: tiles must come in row order, got row ${y0} after ${this.#lastY0}`);
      }
      this.#lastY0 = y0;
      if (this.#bandEnd(this.#next) <= y0) {
        rec.submit();
        while (this.#next < this.#bands && this.#bandEnd(this.#next) <= y0) await this.#flush();
        rec = this.#gpu.kernels.recorder("blend");
      }
      recordBlendTile(this.#gpu, rec, this.#ring, batch.tensor, i, channel, [y0, x0], {
        height,
        fromRow: this.#fromRow,
        window,
      });
    }
    rec.submit();
  }

  /** Finishes every band left (rows no tile covered are 0). */
  async finish(): Promise<void> {
    while (this.#next < this.#bands) await this.#flush();
  }

  /** Frees the GPU buffers. */
  release(): void {
    this.#ring.sum.release();
    this.#ring.count.release();
    this.#staging.destroy();
  }

  #bandEnd(band: number): number {
    return Math.min((band + 1) * this.#o.bandRows, this.#o.height);
  }

  async #flush(): Promise<void> {
    const { bandRows, width, onBand } = this.#o;
    const band = this.#next;
    const y0 = band * bandRows;
    const rows = this.#bandEnd(band) - y0;
    const ringRows = this.#ring.sum.shape[0];
    const rec = this.#gpu.kernels.recorder("blend/flush");
    recordBlendFlush(this.#gpu, rec, this.#ring, y0 % ringRows, rows, this.#staging);
    rec.submit();
    await this.#staging.mapAsync(GPUMapMode.READ, 0, rows * width * 4);
    const data = new Float32Array(this.#staging.getMappedRange(0, rows * width * 4).slice(0));
    this.#staging.unmap();
    this.#next++;
    await onBand(band, data);
  }
}

/** The `blend` stage. */
export const blend: Stage<v.InferOutput<typeof params>> = {
  name: "blend",
  version: "2",
  description:
    "Blend overlapping tile maps into one fragment map (uniform weights as the seed, or Gaussian), band by band",
  params,
  inputs: {
    maps: {
      kind: "maps",
      dtype: "f32",
      shape: "(B, C, T, T)",
      description: "Tile maps with origins, in row order",
    },
  },
  outputs: {
    image: {
      kind: "image",
      dtype: "f32",
      shape: "(H, W)",
      description: "Weighted mean of the maps covering each pixel; 0 where none",
    },
  },
  async run(ctx, inputs, p) {
    const maps = inputs.maps as MapStream;
    if (p.channel >= maps.channels) {
      throw new UserError(
        `parameter "channel" must be below the maps' ${maps.channels} channels, got ${p.channel}`,
      );
    }
    const gpu = await ctx.gpu();
    const { height, width, tile } = maps.grid;
    const bandRows = Math.min(p.band_rows, height);
    const store = await BandStore.open(ctx, "map", { height, width, dtype: "f32", bandRows });
    if (store.done > 0) {
      ctx.debug(1, `resuming: ${store.done} of ${store.bands} bands already blended`);
    }
    if (maps.resume) maps.resume.row = store.doneRows;
    const blender = new BandBlender(gpu, {
      height,
      width,
      tile,
      channel: p.channel,
      bandRows,
      window: p.window === "gaussian"
        ? { kind: "gaussian", sigma: p.sigma * tile }
        : { kind: "uniform" },
      firstBand: store.done,
      onBand: (_band, data) => store.writeBand(data),
    });
    try {
      ctx.progress.start(maps.total, "tiles");
      for await (const b of maps.batches) {
        try {
          await blender.add(b);
        } finally {
          b.release();
        }
        ctx.progress.tick(b.count);
      }
      await blender.finish();
    } finally {
      blender.release();
    }
    ctx.progress.done();
    return { image: await store.port({ mask: maps.mask, labels: maps.labels }) };
  },
};
