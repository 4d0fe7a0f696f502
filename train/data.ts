/**
 * Training and validation data: a band of fragment rows held in memory as
 * its own fragment (zero-padded like the seed's, so no tile reads rows of
 * the other split), the seed's tile grid and keep rule, and host batches of
 * normalised tiles with their labels.
 *
 * @module
 */

import { UserError } from "../data/errors.ts";
import { type Image2D, imageRows } from "../data/image.ts";
import type { VolumeSource } from "../data/volume.ts";

/** How raw integers become [0, 1] (the volume port's normalisations). */
export type Normalization = "seed" | "u16" | "u8" | "none";

/** What training reads of a volume: the source, its normalisation, labels and mask. */
export interface VolumeInput {
  source: VolumeSource;
  normalize: Normalization;
  mask?: Image2D;
  labels?: Image2D;
}

/** Rows `[y0, y1)` of a fragment: voxels, labels and mask, all padded as the seed pads. */
export interface Region {
  y0: number;
  y1: number;
  depth: number;
  /** Rows and columns before padding. */
  height: number;
  width: number;
  /** Rows and columns after the seed's padding to the tile. */
  paddedHeight: number;
  paddedWidth: number;
  /** (depth, height, width) raw voxels of the region (unpadded). */
  voxels: Uint8Array | Uint16Array;
  bits: 8 | 16;
  normalize: Normalization;
  /** (height, width) ink labels 0/1 and mask 0/1 (all 1 without a mask). */
  labels: Uint8Array;
  mask: Uint8Array;
}

/** The seed's padding: `tile - dim % tile` (a whole extra tile when `dim` is a multiple). */
export function seedPadded(dim: number, tile: number): number {
  return dim + tile - (dim % tile);
}

function rowsOf(img: Image2D, y0: number, y1: number): Uint8Array {
  const band = imageRows(img, y0, y1);
  const out = new Uint8Array(band.length);
  for (let i = 0; i < out.length; i++) out[i] = band[i] !== 0 ? 1 : 0;
  return out;
}

/** Reads rows `[y0, y1)` of a volume port (with labels) into memory. */
export async function loadRegion(
  vol: VolumeInput,
  y0: number,
  y1: number,
  tile: number,
): Promise<Region> {
  const [depth, height, width] = vol.source.shape;
  if (!(0 <= y0 && y0 < y1 && y1 <= height)) {
    throw new UserError(
      `rows [${y0}, ${y1}) are outside the ${height} rows of "${vol.source.path}"`,
    );
  }
  if (!vol.labels) throw new UserError(`"${vol.source.path}" has no ink labels (inklabels.png)`);
  const voxels = await vol.source.readRegion(y0, y1, 0, width);
  const labels = rowsOf(vol.labels, y0, y1);
  const mask = vol.mask ? rowsOf(vol.mask, y0, y1) : new Uint8Array(labels.length).fill(1);
  return {
    y0,
    y1,
    depth,
    height: y1 - y0,
    width,
    paddedHeight: seedPadded(y1 - y0, tile),
    paddedWidth: seedPadded(width, tile),
    voxels,
    bits: voxels instanceof Uint16Array ? 16 : 8,
    normalize: vol.normalize,
    labels,
    mask,
  };
}

/** A tile position in region coordinates and whether it holds ink. */
export interface TileRef {
  y: number;
  x: number;
  ink: boolean;
}

/**
 * The seed's tile grid over a region: origins `range(0, padded - tile + 1,
 * stride)` on both axes, kept when any voxel is non-zero (after the seed's
 * `v >> 8` for 16-bit data read its way) and, with `minMask` > 0, when at
 * least that fraction of the tile's pixels is papyrus.
 */
export function tileGrid(r: Region, tile: number, stride: number, minMask = 0): TileRef[] {
  const min = r.bits === 16 && r.normalize === "seed" ? 256 : 1;
  // Prefix counts of "non-zero in some layer" per pixel, for O(1) tile tests.
  const w = r.width, h = r.height, plane = w * h;
  const sum = new Int32Array((h + 1) * (w + 1));
  const inkSum = new Int32Array((h + 1) * (w + 1));
  const maskSum = new Int32Array((h + 1) * (w + 1));
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let any = 0;
      for (let z = 0; z < r.depth && !any; z++) if (r.voxels[z * plane + y * w + x] >= min) any = 1;
      const i = (y + 1) * (w + 1) + x + 1;
      sum[i] = any + sum[i - 1] + sum[i - w - 1] - sum[i - w - 2];
      inkSum[i] = r.labels[y * w + x] + inkSum[i - 1] + inkSum[i - w - 1] - inkSum[i - w - 2];
      maskSum[i] = r.mask[y * w + x] + maskSum[i - 1] + maskSum[i - w - 1] - maskSum[i - w - 2];
    }
  }
  const box = (s: Int32Array, y: number, x: number) => {
    const y1 = Math.min(h, y + tile), x1 = Math.min(w, x + tile);
    if (y >= h || x >= w) return 0;
    const W = w + 1;
    return s[y1 * W + x1] - s[y * W + x1] - s[y1 * W + x] + s[y * W + x];
  };
  const out: TileRef[] = [];
  for (let y = 0; y + tile <= r.paddedHeight; y += stride) {
    for (let x = 0; x + tile <= r.paddedWidth; x += stride) {
      if (box(sum, y, x) === 0) continue;
      if (minMask > 0 && box(maskSum, y, x) < minMask * tile * tile) continue;
      out.push({ y, x, ink: box(inkSum, y, x) > 0 });
    }
  }
  return out;
}

function normalizer(r: Region): (v: number) => number {
  switch (r.normalize) {
    case "seed":
      return r.bits === 16 ? (v) => (v >> 8) / 255 : (v) => v / 255;
    case "u16":
      return (v) => v / 65535;
    case "u8":
      return (v) => v / 255;
    case "none":
      return (v) => v;
  }
}

/**
 * How {@linkcode fillBatch} encodes labels: `ink` 0/1; `classes` the seed's
 * multiclass map mask + ink (0 outside, 1 papyrus, 2 ink); `masked` 0 outside
 * the mask and 1 + ink inside (the masked loss's targets and weights).
 */
export type LabelEncoding = "ink" | "classes" | "masked";

/**
 * Fills a host batch: tiles (B, 1, D, T, T) normalised to [0, 1] (zeros past
 * the region's edge) and labels (B, 1, T, T) encoded as `labels` says.
 */
export function fillBatch(
  r: Region,
  refs: readonly TileRef[],
  tile: number,
  labels: LabelEncoding = "ink",
): { x: Float32Array; y: Float32Array } {
  const d = r.depth, t2 = tile * tile, plane = r.width * r.height;
  const x = new Float32Array(refs.length * d * t2);
  const y = new Float32Array(refs.length * t2);
  const norm = normalizer(r);
  const lut = new Float32Array(r.bits === 16 ? 65536 : 256).map((_, v) => norm(v));
  refs.forEach((ref, b) => {
    const rows = Math.max(0, Math.min(tile, r.height - ref.y));
    const cols = Math.max(0, Math.min(tile, r.width - ref.x));
    for (let z = 0; z < d; z++) {
      for (let i = 0; i < rows; i++) {
        const src = z * plane + (ref.y + i) * r.width + ref.x;
        const dst = ((b * d + z) * tile + i) * tile;
        for (let j = 0; j < cols; j++) x[dst + j] = lut[r.voxels[src + j]];
      }
    }
    for (let i = 0; i < rows; i++) {
      const src = (ref.y + i) * r.width + ref.x, dst = (b * tile + i) * tile;
      for (let j = 0; j < cols; j++) {
        const [m, ink] = [r.mask[src + j], r.labels[src + j]];
        y[dst + j] = labels === "ink" ? ink : labels === "classes" ? m + ink : m && 1 + ink;
      }
    }
  });
  return { x, y };
}
