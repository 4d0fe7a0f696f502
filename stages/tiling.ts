/**
 * The seed's tiling rules, as pure functions: zero padding (with its
 * extra-tile quirk), the stride grid, and tile selection by "any voxel
 * non-zero" and by mask coverage, evaluated on a coarse block grid so that
 * every voxel is looked at once however much the tiles overlap.
 *
 * @module
 */

/** How a fragment is padded before tiling. */
export type Padding = "seed" | "minimal";

/**
 * Padded size of one dimension. `seed` is the 1st-place code's
 * `pad = tile - dim % tile`, which adds a whole extra tile when `dim` is
 * already a multiple of `tile`; `minimal` pads only up to the next multiple.
 *
 * @example
 * ```ts
 * import { paddedSize } from "./tiling.ts";
 * console.assert(paddedSize(8181, 1024, "seed") === 8192);
 * console.assert(paddedSize(1024, 1024, "seed") === 2048);
 * console.assert(paddedSize(1024, 1024, "minimal") === 1024);
 * ```
 */
export function paddedSize(dim: number, tile: number, padding: Padding = "seed"): number {
  const rest = dim % tile;
  if (padding === "minimal") return rest === 0 ? dim : dim + tile - rest;
  return dim + tile - rest;
}

/** Tile origins along one padded dimension: `range(0, padded - tile + 1, stride)`. */
export function tileOrigins(padded: number, tile: number, stride: number): number[] {
  const out: number[] = [];
  for (let o = 0; o + tile <= padded; o += stride) out.push(o);
  return out;
}

/** Greatest common divisor. */
export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * Per-block statistics of a fragment on a `block x block` grid, where
 * `block = gcd(tile, stride)` so every tile is a whole number of blocks:
 * whether any voxel of a block is non-zero, and how many mask pixels it has.
 * Rows are added as they are read; tiles are queried once their rows are in.
 */
export class BlockGrid {
  readonly block: number;
  readonly rows: number;
  readonly cols: number;
  readonly nonzero: Uint8Array;
  readonly maskCount: Uint32Array;

  constructor(paddedHeight: number, paddedWidth: number, block: number) {
    this.block = block;
    this.rows = Math.ceil(paddedHeight / block);
    this.cols = Math.ceil(paddedWidth / block);
    this.nonzero = new Uint8Array(this.rows * this.cols);
    this.maskCount = new Uint32Array(this.rows * this.cols);
  }

  /**
   * Marks blocks holding a non-zero voxel in a (D, rows, width) slab starting
   * at fragment row `y0`. A voxel counts as non-zero when its raw value is at
   * least `min`: 256 for 16-bit data read as the seed reads it (v >> 8 is 0
   * below 256, and the seed tests its 8-bit tiles), 1 otherwise.
   */
  addVoxels(slab: ArrayLike<number>, y0: number, rows: number, width: number, min = 1): void {
    const b = this.block;
    const layers = slab.length / (rows * width);
    for (let z = 0; z < layers; z++) {
      for (let r = 0; r < rows; r++) {
        const rowStart = (z * rows + r) * width;
        const brow = ((y0 + r) / b | 0) * this.cols;
        for (let x = 0; x < width; x++) {
          if (slab[rowStart + x] >= min) {
            const cell = brow + (x / b | 0);
            if (this.nonzero[cell]) {
              x = ((x / b | 0) + 1) * b - 1; // the rest of this block's row is irrelevant
              continue;
            }
            this.nonzero[cell] = 1;
          }
        }
      }
    }
  }

  /** Counts mask pixels (value > 0) of a band: `mask` holds rows `[y0, y0 + rows)` of a mask `width` wide. */
  addMask(mask: ArrayLike<number>, y0: number, rows: number, width: number): void {
    const b = this.block;
    for (let r = 0; r < rows; r++) {
      const brow = ((y0 + r) / b | 0) * this.cols;
      const start = r * width;
      for (let x = 0; x < width; x++) {
        if (mask[start + x] > 0) this.maskCount[brow + (x / b | 0)]++;
      }
    }
  }

  /** True when any voxel of the tile at (y0, x0) is non-zero. */
  anyNonzero(y0: number, x0: number, tile: number): boolean {
    const b = this.block;
    for (let by = y0 / b; by < (y0 + tile) / b; by++) {
      for (let bx = x0 / b; bx < (x0 + tile) / b; bx++) {
        if (this.nonzero[by * this.cols + bx]) return true;
      }
    }
    return false;
  }

  /** Fraction of the tile's pixels inside the mask. */
  maskCoverage(y0: number, x0: number, tile: number): number {
    const b = this.block;
    let n = 0;
    for (let by = y0 / b; by < (y0 + tile) / b; by++) {
      for (let bx = x0 / b; bx < (x0 + tile) / b; bx++) n += this.maskCount[by * this.cols + bx];
    }
    return n / (tile * tile);
  }
}
