/**
 * A deterministic, procedural synthetic papyrus fragment: the project's
 * embedded default input for the quick-start pipeline, tests, benchmarks and
 * the training demo.
 *
 * Every voxel, mask pixel and label pixel is a pure function of
 * `(z, y, x)` and the options (seed, sizes, ...), so any region read gives
 * exactly the values of reading everything and cropping, and nothing of the
 * size of the volume (or of a full 2D map) is ever held unless asked for.
 *
 * What it looks like, in the style of the Kaggle fragments:
 * - an irregular fragment outline (a smooth random blob covering about 55-65 %
 *   of the image, with ragged edges and a few holes); outside it every voxel is
 *   exactly 0 and the mask is 0, inside it the mask is 255 and voxels are
 *   at least 1;
 * - a papyrus sheet in the middle layers (brightest there, dimmer above and
 *   below, following a gently warped surface), made of two crossing layers of
 *   fibres: horizontal fibres on one side of the surface, vertical on the other;
 *   darker blotches, large-scale brightness changes and thin dark cracks;
 * - handwriting: rows of letter-like glyphs (strokes and arcs with ragged
 *   edges) in columns of text, covering about 10-20 % of the papyrus;
 *   `labels` is 255 on the ink inside the mask. The ink brightens voxels (with
 *   a grainy texture and regional fading) only in `inkLayers`; elsewhere it
 *   leaves no trace;
 * - per-voxel noise.
 *
 * @example
 * ```ts
 * import { syntheticFragment } from "./synthetic.ts";
 * const frag = syntheticFragment({ height: 256, width: 384 });
 * const band = await frag.volume.readRegion(0, 64, 0, 384); // 16 x 64 x 384
 * const labels = frag.readLabelRegion(0, 64, 0, 384); // 64 x 384, 0 or 255
 * console.assert(band.length === 16 * 64 * 384 && labels.length === 64 * 384);
 * ```
 *
 * @module
 */

import { q, UserError } from "./errors.ts";
import type { Image2D as BaseImage2D } from "./image.ts";
import type { VolumeDtype, VolumeSource } from "./volume.ts";

export type { VolumeDtype, VolumeSource };

/** A single-channel 8-bit image, row-major (the mask and labels). */
export type Image2D = BaseImage2D & { data: Uint8Array };

/** Options of {@linkcode syntheticFragment}. */
export interface SyntheticOptions {
  /** Rows (y) of every layer. */
  height: number;
  /** Columns (x) of every layer. */
  width: number;
  /** Number of layers (z); default 16. */
  depth?: number;
  /** Any safe integer; default 1. Different seeds give unrelated fragments. */
  seed?: number;
  /**
   * Layers (0-based) in which the ink changes the voxels; default a few middle
   * layers (6..9 of 16, `round(depth / 4)` layers around the middle). May be
   * empty: then the ink is invisible in the volume but still in the labels.
   */
  inkLayers?: readonly number[];
  /**
   * Brightness the ink adds in `inkLayers`, as a fraction of the papyrus
   * intensity span (10000..55000 for uint16); default 0.08 (faint: the fibre
   * texture is about twice as strong).
   */
  inkContrast?: number;
  /**
   * Standard deviation of the per-voxel noise, as a fraction of the same span;
   * default 0.04.
   */
  noise?: number;
  /** Element type; default "uint16". uint8 values are the uint16 ones scaled. */
  dtype?: VolumeDtype;
  /** Height of a letter in pixels; default 64. Lines of text are 1.55x apart. */
  letterHeight?: number;
}

/** The synthetic volume: a {@linkcode VolumeSource} with a synchronous reader too. */
export interface SyntheticVolume extends VolumeSource {
  /** Same as `readRegion`, synchronously. */
  readRegionSync(
    y0: number,
    y1: number,
    x0: number,
    x1: number,
  ): Uint8Array | Uint16Array;
}

/** What {@linkcode syntheticFragment} returns. */
export interface SyntheticFragment {
  /** The (depth, height, width) CT-like volume; 0 outside the mask. */
  readonly volume: SyntheticVolume;
  /**
   * The whole papyrus mask (255 = papyrus, 0 = outside), computed on first
   * access and then kept. For very large fragments prefer `readMaskRegion`.
   */
  readonly mask: Image2D;
  /**
   * The whole ink labels (255 = ink, always inside the mask), computed on
   * first access and then kept. For very large fragments prefer
   * `readLabelRegion`.
   */
  readonly labels: Image2D;
  /** The layers in which the ink is visible, sorted. */
  readonly inkLayers: readonly number[];
  /** Mask rows `[y0, y1)` and columns `[x0, x1)`, row-major. */
  readMaskRegion(y0: number, y1: number, x0: number, x1: number): Uint8Array;
  /** Label rows `[y0, y1)` and columns `[x0, x1)`, row-major. */
  readLabelRegion(y0: number, y1: number, x0: number, x1: number): Uint8Array;
}

/** Largest height or width accepted (coordinates stay well inside int32). */
const MAX_SIDE = 1 << 22;
/** Largest depth accepted. */
const MAX_DEPTH = 4096;
/** Papyrus intensity span in uint16 units (the mean density range). */
const SPAN_LO = 10000;
const SPAN_HI = 55000;
const SPAN = SPAN_HI - SPAN_LO;
/** Number of quantised surface offsets the depth profile is tabulated for. */
const NQ = 17;
/** The per-voxel noise table has NOISE_MASK + 1 entries. */
const NOISE_MASK = 0xffff;
/** Number of distinct glyphs per seed. */
const GLYPHS = 48;
/** Glyph distance fields are clamped to +-SD_CLAMP pixels. */
const SD_CLAMP = 4;

// ---------------------------------------------------------------------------
// Hashing and value noise

/** Murmur3's 32-bit finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A well-mixed 32-bit hash of a salt and two integers (as uint32). */
function hash3(salt: number, a: number, b: number): number {
  const h = fmix((salt + Math.imul(a, 0x9e3779b1)) | 0);
  return fmix((h + Math.imul(b, 0x7feb352d)) | 0) >>> 0;
}

/** Uniform in [0, 1) from a hash. */
function unit(h: number): number {
  return (h >>> 8) / 16777216;
}

/** A deterministic random stream, for construction-time choices. */
class Rng {
  private n = 0;
  constructor(private readonly salt: number) {}
  /** Uniform in [0, 1). */
  next(): number {
    return unit(hash3(this.salt, this.n++, 0x51ed));
  }
  /** Uniform in [a, b). */
  range(a: number, b: number): number {
    return a + (b - a) * this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * 2D value noise in [-1, 1] on an integer lattice with spacing (sy, sx)
 * pixels, smoothstep-interpolated, evaluated a row at a time: two lattice rows
 * are hashed (and kept for the next rows), interpolated once per node, then
 * each pixel is one lerp. Every value depends only on (y, x), never on the
 * row segment asked for or on what was asked before.
 */
class Noise2D {
  private readonly wx: Float64Array;
  private nodes = new Float64Array(64);
  /** Lattice rows `cacheJ` and `cacheJ + 1` over nodes `cacheI..+cacheN`. */
  private rowA = new Float64Array(64);
  private rowB = new Float64Array(64);
  private cacheJ = NaN;
  private cacheI = NaN;
  private cacheN = 0;

  constructor(
    private readonly salt: number,
    readonly sy: number,
    readonly sx: number,
  ) {
    this.sy = Math.max(1, Math.round(sy));
    this.sx = Math.max(1, Math.round(sx));
    this.wx = new Float64Array(this.sx);
    for (let p = 0; p < this.sx; p++) this.wx[p] = smooth(p / this.sx);
  }

  private lattice(i: number, j: number): number {
    return unit(hash3(this.salt, i, j)) * 2 - 1;
  }

  private fillLattice(
    row: Float64Array,
    i0: number,
    count: number,
    j: number,
  ): void {
    for (let k = 0; k < count; k++) row[k] = this.lattice(i0 + k, j);
  }

  /** `out[off + i] += amp * noise(y, x0 + i)` for i in [0, n). */
  addRow(
    y: number,
    x0: number,
    n: number,
    out: Float32Array,
    amp: number,
    off = 0,
  ): void {
    if (n <= 0 || amp === 0) return;
    const sx = this.sx;
    const jy = Math.floor(y / this.sy);
    const ty = smooth((y - jy * this.sy) / this.sy);
    const ix0 = Math.floor(x0 / sx);
    const count = Math.floor((x0 + n - 1) / sx) - ix0 + 2;
    if (this.cacheI !== ix0 || this.cacheN !== count || this.cacheJ !== jy) {
      if (this.rowA.length < count) {
        this.rowA = new Float64Array(count * 2);
        this.rowB = new Float64Array(count * 2);
        this.nodes = new Float64Array(count * 2);
      }
      if (
        this.cacheI === ix0 && this.cacheN === count && this.cacheJ === jy - 1
      ) {
        const t = this.rowA;
        this.rowA = this.rowB;
        this.rowB = t;
      } else {
        this.fillLattice(this.rowA, ix0, count, jy);
      }
      this.fillLattice(this.rowB, ix0, count, jy + 1);
      this.cacheI = ix0;
      this.cacheN = count;
      this.cacheJ = jy;
    }
    const nodes = this.nodes, rowA = this.rowA, rowB = this.rowB;
    for (let k = 0; k < count; k++) {
      const a = rowA[k];
      nodes[k] = amp * (a + (rowB[k] - a) * ty);
    }
    const wx = this.wx, end = off + n;
    let j = off, p = x0 - ix0 * sx;
    for (let k = 0; j < end; k++) {
      const a = nodes[k], d = nodes[k + 1] - a;
      const stop = Math.min(end, j + sx - p);
      for (; j < stop; j++, p++) out[j] += a + d * wx[p];
      p = 0;
    }
  }

  /** The noise at one (possibly fractional) point, for calibration. */
  at(y: number, x: number): number {
    const fy = y / this.sy, fx = x / this.sx;
    const jy = Math.floor(fy), ix = Math.floor(fx);
    const ty = smooth(fy - jy), tx = smooth(fx - ix);
    const a = this.lattice(ix, jy), b = this.lattice(ix + 1, jy);
    const c = this.lattice(ix, jy + 1), d = this.lattice(ix + 1, jy + 1);
    const top = a + (b - a) * tx, bottom = c + (d - c) * tx;
    return top + (bottom - top) * ty;
  }
}

// ---------------------------------------------------------------------------
// Glyphs

/** Distance from (px, py) to the segment (ax, ay)-(bx, by). */
function segmentDistance(
  px: number,
  py: number,
  ax: number,
  ay: number,
  bx: number,
  by: number,
): number {
  const dx = bx - ax, dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  const ex = px - ax - t * dx, ey = py - ay - t * dy;
  return Math.sqrt(ex * ex + ey * ey);
}

/**
 * Letter-like glyphs (majuscule-ish: bars, diagonals, bows and rounds) as
 * signed distance fields of `boxH x boxW` pixels: positive inside the stroke,
 * clamped to +-SD_CLAMP. Drawn in the box's middle `letterH` rows.
 */
function makeGlyphs(
  rng: Rng,
  letterH: number,
  boxH: number,
  boxW: number,
  pad: number,
): Int8Array[] {
  const glyphs: Int8Array[] = [];
  for (let g = 0; g < GLYPHS; g++) {
    const gw = letterH * rng.range(0.5, 0.85);
    const left = (boxW - gw) / 2;
    const radius = letterH * rng.range(0.08, 0.11);
    const margin = radius + 1;
    // Letter-box coordinates (u across, v down, both 0..1) to pixels.
    const px = (u: number) => left + margin + u * (gw - 2 * margin);
    const py = (v: number) => pad + margin + v * (letterH - 2 * margin);
    const segs: number[] = []; // ax, ay, bx, by, ...
    const polyline = (pts: number[]) => {
      for (let i = 0; i + 3 < pts.length; i += 2) {
        segs.push(px(pts[i]), py(pts[i + 1]), px(pts[i + 2]), py(pts[i + 3]));
      }
    };
    const jit = () => rng.range(-0.07, 0.07);
    const anchor = () => [
      [0, 0.5, 1][rng.int(3)] + jit(),
      [0, 0.5, 1][rng.int(3)] + jit(),
    ];
    const arc = (cu: number, cv: number, ru: number, rv: number) => {
      const a0 = rng.range(0, Math.PI * 2);
      const sweep = rng.next() < 0.4 ? Math.PI * 2 : rng.range(2.2, 4.6);
      const pts: number[] = [];
      const steps = 14;
      for (let i = 0; i <= steps; i++) {
        const a = a0 + (sweep * i) / steps;
        pts.push(cu + ru * Math.cos(a), cv + rv * Math.sin(a));
      }
      polyline(pts);
    };
    const parts = 1 + rng.int(3);
    for (let s = 0; s < parts; s++) {
      const kind = rng.next();
      if (kind < 0.5) {
        let a = anchor(), b = anchor();
        while (Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) < 0.4) {
          a = anchor();
          b = anchor();
        }
        polyline([a[0], a[1], b[0], b[1]]);
      } else if (kind < 0.68) {
        const a = anchor(), b = anchor(), c = anchor();
        polyline([a[0], a[1], b[0], b[1], c[0], c[1]]);
      } else if (kind < 0.88) {
        arc(0.5 + jit(), 0.5 + jit(), 0.5, 0.5);
      } else {
        // A small bow on the upper or lower half (like P, B, R).
        const cv = rng.next() < 0.5 ? 0.25 : 0.75;
        arc(0.5 + jit(), cv, 0.45, 0.3);
      }
    }
    // Distances matter only up to radius + SD_CLAMP: visit each segment's
    // surroundings only.
    const dist = new Float64Array(boxH * boxW).fill(Infinity);
    const reach = radius + SD_CLAMP + 1;
    for (let i = 0; i < segs.length; i += 4) {
      const ax = segs[i], ay = segs[i + 1], bx = segs[i + 2], by = segs[i + 3];
      const ya = Math.max(0, Math.floor(Math.min(ay, by) - reach));
      const yb = Math.min(boxH, Math.ceil(Math.max(ay, by) + reach));
      const xa = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
      const xb = Math.min(boxW, Math.ceil(Math.max(ax, bx) + reach));
      for (let y = ya; y < yb; y++) {
        for (let x = xa; x < xb; x++) {
          const e = segmentDistance(x + 0.5, y + 0.5, ax, ay, bx, by);
          if (e < dist[y * boxW + x]) dist[y * boxW + x] = e;
        }
      }
    }
    const sd = new Int8Array(boxH * boxW);
    for (let j = 0; j < sd.length; j++) {
      const v = Math.round((radius - dist[j]) * 16);
      sd[j] = v < -SD_CLAMP * 16 ? -SD_CLAMP * 16 : v > SD_CLAMP * 16 ? SD_CLAMP * 16 : v;
    }
    glyphs.push(sd);
  }
  return glyphs;
}

// ---------------------------------------------------------------------------
// The generator

/** How much of a row to compute: the mask, also the labels, or everything. */
type Need = 0 | 1 | 2;
const Need = { Mask: 0, Labels: 1, Volume: 2 } as const;

/** Per-row scratch fields of a region read. */
class RowFields {
  readonly mask: Uint8Array;
  readonly label: Uint8Array;
  readonly ink: Float32Array;
  readonly fh: Float32Array;
  readonly fv: Float32Array;
  readonly dark: Float32Array;
  readonly qs: Uint8Array;
  readonly t1: Float32Array;
  readonly t2: Float32Array;
  readonly t3: Float32Array;
  /** First and one past the last papyrus pixel of the row. */
  lo = 0;
  hi = 0;
  constructor(readonly n: number) {
    this.mask = new Uint8Array(n);
    this.label = new Uint8Array(n);
    this.ink = new Float32Array(n);
    this.fh = new Float32Array(n);
    this.fv = new Float32Array(n);
    this.dark = new Float32Array(n);
    this.qs = new Uint8Array(n);
    this.t1 = new Float32Array(n);
    this.t2 = new Float32Array(n);
    this.t3 = new Float32Array(n);
  }
}

interface Resolved {
  height: number;
  width: number;
  depth: number;
  seed: number;
  inkLayers: number[];
  inkContrast: number;
  noise: number;
  dtype: VolumeDtype;
  letterHeight: number;
}

class Generator {
  readonly o: Resolved;
  // Outline.
  private readonly cy: number;
  private readonly cx: number;
  private readonly iry2: number;
  private readonly irx2: number;
  private readonly blob1: Noise2D;
  private readonly blob2: Noise2D;
  private readonly rag1: Noise2D;
  private readonly rag2: Noise2D;
  private readonly rag1Amp: number;
  private readonly rag2Amp: number;
  private readonly threshold: number;
  private readonly hole1: Noise2D;
  private readonly hole2: Noise2D;
  private readonly crack: Noise2D;
  private readonly crackGate: Noise2D;
  private readonly crackWidth: number;
  // Texture.
  private readonly fibH: Noise2D[];
  private readonly fibV: Noise2D[];
  private readonly fibAmp = [0.45, 0.3, 0.3];
  private readonly large: Noise2D;
  private readonly blotch: Noise2D;
  private readonly blotch2: Noise2D;
  private readonly fineH: Noise2D;
  private readonly fineV: Noise2D;
  private readonly surface: Noise2D;
  private readonly tabA: Float64Array;
  private readonly tabH: Float64Array;
  private readonly tabV: Float64Array;
  private readonly inkAmp: Float64Array;
  private readonly noise: Float32Array;
  private readonly noiseSalt: number;
  private readonly maxValue: number;
  // Writing.
  private readonly disp: Noise2D;
  private readonly dispAmp: number;
  private readonly edge: Noise2D;
  private readonly inkTex: Noise2D;
  private readonly fade: Noise2D;
  private readonly glyphs: Int8Array[];
  private readonly boxH: number;
  private readonly boxW: number;
  private readonly pitch: number;
  private readonly boxTop: number;
  private readonly colCells: number;
  private readonly colPeriod: number;
  private readonly inkSalt: number;

  constructor(o: Resolved) {
    this.o = o;
    const { height: h, width: w, depth, letterHeight: lh } = o;
    const base = fmix(
      (fmix(o.seed | 0) +
        Math.imul(Math.floor(o.seed / 4294967296), 0x27d4eb2d)) | 0,
    );
    let saltN = 0;
    const salt = () => hash3(base, 0x5a17, saltN++) | 0;
    const rng = new Rng(salt());

    // Outline: an ellipse deformed by coarse noise, thresholded so that a
    // chosen fraction of a coarse sample lies inside; ragged at a few pixels.
    const minSide = Math.min(h, w);
    this.cy = h * rng.range(0.46, 0.54);
    this.cx = w * rng.range(0.46, 0.54);
    const ry = h * rng.range(0.42, 0.5), rx = w * rng.range(0.42, 0.5);
    this.iry2 = 1 / (ry * ry);
    this.irx2 = 1 / (rx * rx);
    this.blob1 = new Noise2D(salt(), h / 2.2, w / 2.2);
    this.blob2 = new Noise2D(salt(), h / 5, w / 5);
    const perPixel = 2 / (0.46 * Math.max(1, minSide)); // field change per px near the edge
    this.rag1 = new Noise2D(salt(), 18, 18);
    this.rag2 = new Noise2D(salt(), 5, 5);
    this.rag1Amp = perPixel * Math.min(10, minSide / 40);
    this.rag2Amp = perPixel * Math.min(3, minSide / 100);
    const target = rng.range(0.56, 0.66);
    const samples: number[] = [];
    const grid = 96;
    for (let i = 0; i < grid; i++) {
      for (let j = 0; j < grid; j++) {
        const y = ((i + 0.5) * h) / grid, x = ((j + 0.5) * w) / grid;
        samples.push(this.coarseField(y, x));
      }
    }
    samples.sort((a, b) => a - b);
    this.threshold = samples[Math.floor((1 - target) * samples.length)];
    this.hole1 = new Noise2D(salt(), 70, 70);
    this.hole2 = new Noise2D(salt(), 23, 23);
    this.crack = new Noise2D(salt(), 170, 170);
    this.crackGate = new Noise2D(salt(), 400, 400);
    this.crackWidth = 1.6 / 170;

    // Texture: fibres along x (horizontal) and along y (vertical), three
    // octaves each: fine fibres, bundles and strips.
    this.fibH = [
      new Noise2D(salt(), 3, 90),
      new Noise2D(salt(), 9, 260),
      new Noise2D(salt(), 140, 3000),
    ];
    this.fibV = [
      new Noise2D(salt(), 90, 3),
      new Noise2D(salt(), 260, 9),
      new Noise2D(salt(), 3000, 140),
    ];
    this.large = new Noise2D(salt(), 300, 300);
    this.blotch = new Noise2D(salt(), 29, 37);
    this.blotch2 = new Noise2D(salt(), 11, 13);
    this.fineH = new Noise2D(salt(), 6, 150);
    this.fineV = new Noise2D(salt(), 150, 6);
    this.surface = new Noise2D(salt(), 420, 420);

    // Depth profile, tabulated per layer and quantised surface offset.
    const scale = o.dtype === "uint16" ? 1 : 255 / 65535;
    this.maxValue = o.dtype === "uint16" ? 65535 : 255;
    const zc = (depth - 1) / 2;
    const sAmp = Math.min(1.5, 0.1 * depth);
    const half = Math.max(1, depth * 0.32);
    const soft = 0.5 + depth * 0.03;
    this.tabA = new Float64Array(depth * NQ);
    this.tabH = new Float64Array(depth * NQ);
    this.tabV = new Float64Array(depth * NQ);
    for (let z = 0; z < depth; z++) {
      for (let b = 0; b < NQ; b++) {
        const s = ((b / (NQ - 1)) * 2 - 1) * sAmp;
        const t = z - zc - s;
        const dens = 1 / (1 + Math.exp((Math.abs(t) - half) / soft));
        const side = 1 / (1 + Math.exp(-t / 0.7)); // 1: horizontal fibres
        const k = z * NQ + b;
        this.tabA[k] = scale * (SPAN_LO + SPAN * (0.2 + 0.58 * dens));
        this.tabH[k] = scale * SPAN * 0.22 * (0.15 + 0.85 * dens) * side;
        this.tabV[k] = scale * SPAN * 0.22 * (0.15 + 0.85 * dens) * (1 - side);
      }
    }
    this.inkAmp = new Float64Array(depth);
    for (const z of o.inkLayers) this.inkAmp[z] = scale * SPAN * o.inkContrast;
    // Triangular noise in [-1, 1] has standard deviation 1 / sqrt(6).
    const noiseAmp = scale * SPAN * o.noise * Math.sqrt(6);
    this.noiseSalt = salt();
    const noiseTab = salt();
    this.noise = new Float32Array(NOISE_MASK + 1);
    for (let j = 0; j <= NOISE_MASK; j++) {
      const h = hash3(noiseTab, j, 0);
      this.noise[j] = noiseAmp * (((h & 0xffff) + (h >>> 16)) / 65535 - 1);
    }

    // Writing.
    const pad = Math.round(0.2 * lh);
    this.boxH = lh + 2 * pad;
    this.boxW = Math.round(0.95 * lh);
    this.pitch = Math.round(1.55 * lh);
    this.boxTop = Math.floor((this.pitch - this.boxH) / 2);
    this.colCells = 14 + rng.int(12);
    this.colPeriod = this.colCells + 3;
    this.disp = new Noise2D(salt(), 3 * this.pitch, 6 * lh);
    this.dispAmp = 0.15 * lh;
    this.edge = new Noise2D(salt(), 5, 5);
    this.inkTex = new Noise2D(salt(), 3, 3);
    this.fade = new Noise2D(salt(), 220, 220);
    this.inkSalt = salt();
    this.glyphs = makeGlyphs(new Rng(salt()), lh, this.boxH, this.boxW, pad);
  }

  /** The outline field without its fine (ragged) part. */
  private coarseField(y: number, x: number): number {
    const dy = y - this.cy, dx = x - this.cx;
    return 1 - dy * dy * this.iry2 - dx * dx * this.irx2 -
      this.border(y, this.o.height) - this.border(x, this.o.width) +
      0.7 * this.blob1.at(y, x) + 0.35 * this.blob2.at(y, x);
  }

  /** Pushes the outline away from the image's edges (0 away from them). */
  private border(t: number, size: number): number {
    const margin = 0.16 * size;
    const d = Math.min(t + 0.5, size - 0.5 - t);
    return d >= margin ? 0 : 1.2 * ((margin - d) / margin) ** 2;
  }

  /** Fills `f` for row y, columns [x0, x0 + f.n). */
  row(y: number, x0: number, f: RowFields, need: Need): void {
    const n = f.n;
    const { mask, t1, t2, t3 } = f;
    // Outline.
    const dy = y - this.cy;
    const width = this.o.width;
    const ey = 1 - dy * dy * this.iry2 - this.border(y, this.o.height);
    for (let i = 0; i < n; i++) {
      const dx = x0 + i - this.cx;
      t1[i] = ey - dx * dx * this.irx2 - this.border(x0 + i, width);
    }
    this.blob1.addRow(y, x0, n, t1, 0.7);
    this.blob2.addRow(y, x0, n, t1, 0.35);
    this.rag1.addRow(y, x0, n, t1, this.rag1Amp);
    this.rag2.addRow(y, x0, n, t1, this.rag2Amp);
    t2.fill(0);
    this.hole1.addRow(y, x0, n, t2, 0.75);
    this.hole2.addRow(y, x0, n, t2, 0.25);
    t3.fill(0);
    this.crack.addRow(y, x0, n, t3, 1);
    this.rag1.addRow(y, x0, n, t3, 0.012);
    const dark = f.dark;
    dark.fill(0);
    this.crackGate.addRow(y, x0, n, dark, 1);
    const thr = this.threshold, cw = this.crackWidth;
    for (let i = 0; i < n; i++) {
      // Cracks: thin ridges of |noise| where the gate is open; the widest
      // parts split the papyrus, the rest only darken it.
      const gate = dark[i];
      const c = Math.abs(t3[i]);
      let crack = gate > 0.15 && c < cw ? (1 - c / cw) * Math.min(1, (gate - 0.15) * 4) : 0;
      const inside = t1[i] > thr && t2[i] < 0.66 && crack < 0.8;
      mask[i] = inside ? 255 : 0;
      if (!inside) crack = 0;
      dark[i] = 1 - 0.6 * crack;
    }
    // Everything else only between the first and last papyrus pixel.
    let lo = 0, hi = n;
    while (lo < n && mask[lo] === 0) lo++;
    while (hi > lo && mask[hi - 1] === 0) hi--;
    f.lo = lo;
    f.hi = hi;
    if (need === Need.Mask) return;
    const xs = x0 + lo, m = hi - lo;

    // Writing: displaced text lines, columns, cells holding glyphs.
    const { label, ink } = f;
    label.fill(0);
    t1.fill(0, lo, hi);
    this.disp.addRow(y, xs, m, t1, this.dispAmp, lo);
    t2.fill(0, lo, hi);
    this.edge.addRow(y, xs, m, t2, 1.4, lo);
    const pitch = this.pitch, boxTop = this.boxTop, boxH = this.boxH;
    const boxW = this.boxW,
      colCells = this.colCells,
      colPeriod = this.colPeriod;
    const glyphs = this.glyphs, salt = this.inkSalt;
    let lastLine = -1e9, lineShift = 0, lineOn = false;
    let lastCell = -1e9, glyph: Int8Array | null = null, jx = 0, jy = 0;
    for (let i = lo; i < hi; i++) {
      let sd = -SD_CLAMP;
      if (mask[i] !== 0) {
        const yy = y + t1[i];
        const line = Math.floor(yy / pitch);
        if (line !== lastLine) {
          lastLine = line;
          const lh = hash3(salt, line, 0x11ae);
          lineOn = unit(lh) >= 0.05;
          lineShift = lh % boxW;
          lastCell = -1e9;
        }
        const v = Math.floor(yy - line * pitch) - boxTop;
        if (lineOn && v >= -4 && v < boxH + 4) {
          const xx = x0 + i + lineShift;
          const cell = Math.floor(xx / boxW);
          if (cell !== lastCell) {
            lastCell = cell;
            const ch = hash3(salt, line, cell);
            const inColumn = cell % colPeriod < colCells;
            glyph = inColumn && (ch & 255) >= 30 ? glyphs[(ch >>> 8) % GLYPHS] : null;
            jx = ((ch >>> 20) & 7) - 3;
            jy = ((ch >>> 23) & 7) - 3;
          }
          if (glyph !== null) {
            const gy = v - jy, gx = xx - cell * boxW - jx;
            if (gy >= 0 && gy < boxH && gx >= 0 && gx < boxW) {
              sd = glyph[gy * boxW + gx] * (1 / 16);
            }
          }
        }
      }
      const s = sd + t2[i];
      label[i] = mask[i] !== 0 && s >= 0 ? 255 : 0;
      const strength = 0.5 + s * 0.4;
      ink[i] = mask[i] === 0 ? 0 : strength <= 0 ? 0 : strength >= 1 ? 1 : strength;
    }
    if (need === Need.Labels) return;

    // Ink texture and regional fading.
    t1.fill(0, lo, hi);
    this.inkTex.addRow(y, xs, m, t1, 0.5, lo);
    t2.fill(0, lo, hi);
    this.fade.addRow(y, xs, m, t2, 0.3, lo);
    for (let i = lo; i < hi; i++) ink[i] *= (1 + t1[i]) * (0.85 + t2[i]);

    // Fibres, blotches and large-scale brightness.
    const { fh, fv, qs } = f;
    t1.fill(0, lo, hi);
    this.large.addRow(y, xs, m, t1, 0.35, lo);
    t2.fill(0, lo, hi);
    this.blotch.addRow(y, xs, m, t2, 0.75, lo);
    this.blotch2.addRow(y, xs, m, t2, 0.35, lo);
    for (let i = lo; i < hi; i++) {
      // Dark patches and a few bright specks.
      const b = t2[i];
      t1[i] += b > 0.3 ? 2.5 * (0.3 - b) : b < -0.55 ? 2 * (-0.55 - b) : 0;
    }
    fh.set(t1.subarray(lo, hi), lo);
    fv.set(t1.subarray(lo, hi), lo);
    for (let k = 0; k < 3; k++) {
      this.fibH[k].addRow(y, xs, m, fh, this.fibAmp[k], lo);
      this.fibV[k].addRow(y, xs, m, fv, this.fibAmp[k], lo);
    }
    // Ridged fine fibres: sharp bright lines.
    t2.fill(0, lo, hi);
    this.fineH.addRow(y, xs, m, t2, 1, lo);
    t3.fill(0, lo, hi);
    this.fineV.addRow(y, xs, m, t3, 1, lo);
    for (let i = lo; i < hi; i++) {
      const a = 1 - 4 * Math.abs(t2[i]), b = 1 - 4 * Math.abs(t3[i]);
      fh[i] += a > 0 ? 0.5 * a : 0;
      fv[i] += b > 0 ? 0.5 * b : 0;
    }
    t3.fill(0, lo, hi);
    this.surface.addRow(y, xs, m, t3, 1, lo);
    const half = (NQ - 1) / 2;
    for (let i = lo; i < hi; i++) {
      const s = t3[i] < -1 ? -1 : t3[i] > 1 ? 1 : t3[i];
      qs[i] = Math.round((s + 1) * half);
    }
  }

  /** Writes rows [y0, y1), columns [x0, x1) of every layer. */
  readVolume(
    y0: number,
    y1: number,
    x0: number,
    x1: number,
  ): Uint8Array | Uint16Array {
    const rows = y1 - y0, n = x1 - x0, depth = this.o.depth;
    const size = depth * rows * n;
    const out = this.o.dtype === "uint16" ? new Uint16Array(size) : new Uint8Array(size);
    if (size === 0) return out;
    const f = new RowFields(n);
    const plane = rows * n;
    for (let y = y0; y < y1; y++) {
      this.row(y, x0, f, Need.Volume);
      // Two layers at a time: they share the per-pixel loads.
      for (let z = 0; z < depth; z += 2) {
        const pair = z + 1 < depth;
        fillVoxels(
          out,
          z * plane + (y - y0) * n,
          pair ? plane : 0,
          x0,
          hash3(this.noiseSalt, z, y) & NOISE_MASK,
          hash3(this.noiseSalt, pair ? z + 1 : z, y) & NOISE_MASK,
          z * NQ,
          pair ? NQ : 0,
          f,
          this.tabA,
          this.tabH,
          this.tabV,
          this.inkAmp[z],
          this.inkAmp[pair ? z + 1 : z],
          this.noise,
          this.maxValue,
        );
      }
    }
    return out;
  }

  /** Mask (need Mask) or labels (need Labels) of a region. */
  read2D(
    y0: number,
    y1: number,
    x0: number,
    x1: number,
    need: Need,
  ): Uint8Array {
    const n = x1 - x0;
    const out = new Uint8Array((y1 - y0) * n);
    if (out.length === 0) return out;
    const f = new RowFields(n);
    for (let y = y0; y < y1; y++) {
      this.row(y, x0, f, need);
      out.set(need === Need.Mask ? f.mask : f.label, (y - y0) * n);
    }
    return out;
  }
}

/**
 * The per-voxel loop of one row of two layers (or of one layer twice, when
 * `plane` and `dk` are 0): the depth profile at the pixel's surface offset,
 * fibre texture, cracks, ink and noise (a lookup in a random table at a
 * per-row random offset).
 */
function fillVoxels(
  out: Uint8Array | Uint16Array,
  o: number,
  plane: number,
  x0: number,
  offA: number,
  offB: number,
  zBase: number,
  dk: number,
  f: RowFields,
  tabA: Float64Array,
  tabH: Float64Array,
  tabV: Float64Array,
  inkA: number,
  inkB: number,
  noise: Float32Array,
  maxValue: number,
): void {
  const { mask, qs, fh, fv, dark, ink } = f;
  const hi = f.hi, o2 = o + plane;
  for (let i = f.lo; i < hi; i++) {
    if (mask[i] === 0) continue;
    const k = zBase + qs[i], k2 = k + dk, x = x0 + i;
    const h = fh[i], g = fv[i], d = dark[i], e = ink[i];
    let a = (tabA[k] + tabH[k] * h + tabV[k] * g) * d + inkA * e +
      noise[(offA + x) & NOISE_MASK];
    let b = (tabA[k2] + tabH[k2] * h + tabV[k2] * g) * d + inkB * e +
      noise[(offB + x) & NOISE_MASK];
    a = a < 1 ? 1 : a > maxValue ? maxValue : a;
    b = b < 1 ? 1 : b > maxValue ? maxValue : b;
    out[o + i] = (a + 0.5) | 0;
    out[o2 + i] = (b + 0.5) | 0;
  }
}

// ---------------------------------------------------------------------------
// Options and the public factory

function intOption(
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (
    typeof value !== "number" || !Number.isInteger(value) || value < min ||
    value > max
  ) {
    throw new UserError(
      `Synthetic fragment option ${q(name)} must be an integer from ${min} to ${max}, got ${
        q(value)
      }`,
    );
  }
  return value;
}

function numberOption(
  name: string,
  value: unknown,
  min: number,
  max: number,
): number {
  if (
    typeof value !== "number" || !Number.isFinite(value) || value < min ||
    value > max
  ) {
    throw new UserError(
      `Synthetic fragment option ${q(name)} must be a number from ${min} to ${max}, got ${
        q(value)
      }`,
    );
  }
  return value;
}

function resolve(opts: SyntheticOptions): Resolved {
  if (typeof opts !== "object" || opts === null) {
    throw new UserError(
      `Synthetic fragment options must be an object, got ${q(opts)}`,
    );
  }
  const height = intOption("height", opts.height, 1, MAX_SIDE);
  const width = intOption("width", opts.width, 1, MAX_SIDE);
  const depth = intOption("depth", opts.depth ?? 16, 1, MAX_DEPTH);
  const seed = intOption(
    "seed",
    opts.seed ?? 1,
    Number.MIN_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER,
  );
  const dtype = opts.dtype ?? "uint16";
  if (dtype !== "uint16" && dtype !== "uint8") {
    throw new UserError(
      `Synthetic fragment option "dtype" must be "uint8" or "uint16", got ${q(dtype)}`,
    );
  }
  let inkLayers: number[];
  if (opts.inkLayers === undefined) {
    const k = Math.max(1, Math.round(depth / 4));
    const first = Math.floor((depth - k) / 2);
    inkLayers = Array.from({ length: k }, (_, i) => first + i);
  } else {
    if (!Array.isArray(opts.inkLayers)) {
      throw new UserError(
        `Synthetic fragment option "inkLayers" must be a list of layers, got ${q(opts.inkLayers)}`,
      );
    }
    for (const z of opts.inkLayers) intOption("inkLayers", z, 0, depth - 1);
    inkLayers = [...new Set(opts.inkLayers as number[])].sort((a, b) => a - b);
  }
  return {
    height,
    width,
    depth,
    seed,
    dtype,
    inkLayers,
    inkContrast: numberOption("inkContrast", opts.inkContrast ?? 0.08, 0, 2),
    noise: numberOption("noise", opts.noise ?? 0.04, 0, 2),
    letterHeight: intOption("letterHeight", opts.letterHeight ?? 64, 8, 4096),
  };
}

function checkRegion(
  what: string,
  shape: { height: number; width: number },
  y0: number,
  y1: number,
  x0: number,
  x1: number,
): void {
  const ok = Number.isInteger(y0) && Number.isInteger(y1) &&
    Number.isInteger(x0) &&
    Number.isInteger(x1) && 0 <= y0 && y0 <= y1 && y1 <= shape.height &&
    0 <= x0 &&
    x0 <= x1 && x1 <= shape.width;
  if (!ok) {
    throw new RangeError(
      `${what}: region rows [${y0}, ${y1}) columns [${x0}, ${x1}) is outside ${shape.height} x ${shape.width}`,
    );
  }
}

/**
 * Makes a synthetic fragment: a lazily computed volume with its mask and ink
 * labels. Construction is cheap (a few milliseconds: small tables and glyphs
 * per seed); all data is computed when read. Throws {@linkcode UserError}
 * for invalid options.
 *
 * @example
 * ```ts
 * import { syntheticFragment } from "./synthetic.ts";
 * const frag = syntheticFragment({ height: 512, width: 512, seed: 7 });
 * console.assert(frag.volume.path === "synthetic:512x512x16:seed=7");
 * const whole = await frag.volume.readRegion(0, 512, 0, 512);
 * const part = await frag.volume.readRegion(100, 164, 200, 300);
 * // part equals the matching crop of whole, layer by layer.
 * console.assert(part[0] === whole[100 * 512 + 200]);
 * const inkPixels = frag.labels.data.filter((v) => v === 255).length;
 * console.assert(inkPixels > 0);
 * ```
 */
export function syntheticFragment(opts: SyntheticOptions): SyntheticFragment {
  const o = resolve(opts);
  const gen = new Generator(o);
  const shape2 = { height: o.height, width: o.width };
  const path = `synthetic:${o.height}x${o.width}x${o.depth}:seed=${o.seed}`;
  const readSync = (y0: number, y1: number, x0: number, x1: number) => {
    checkRegion(path, shape2, y0, y1, x0, x1);
    return gen.readVolume(y0, y1, x0, x1);
  };
  const volume: SyntheticVolume = {
    path,
    format: "synthetic",
    shape: [o.depth, o.height, o.width] as const,
    dtype: o.dtype,
    layers: Array.from({ length: o.depth }, (_, z) => z),
    readRegionSync: readSync,
    readRegion: (y0, y1, x0, x1) => {
      try {
        return Promise.resolve(readSync(y0, y1, x0, x1));
      } catch (e) {
        return Promise.reject(e);
      }
    },
    close: () => Promise.resolve(),
  };
  const readMaskRegion = (y0: number, y1: number, x0: number, x1: number) => {
    checkRegion(`${path} mask`, shape2, y0, y1, x0, x1);
    return gen.read2D(y0, y1, x0, x1, Need.Mask);
  };
  const readLabelRegion = (y0: number, y1: number, x0: number, x1: number) => {
    checkRegion(`${path} labels`, shape2, y0, y1, x0, x1);
    return gen.read2D(y0, y1, x0, x1, Need.Labels);
  };
  let mask: Image2D | undefined, labels: Image2D | undefined;
  return {
    volume,
    inkLayers: o.inkLayers,
    readMaskRegion,
    readLabelRegion,
    get mask(): Image2D {
      return mask ??= {
        ...shape2,
        data: readMaskRegion(0, o.height, 0, o.width),
      };
    },
    get labels(): Image2D {
      return labels ??= {
        ...shape2,
        data: readLabelRegion(0, o.height, 0, o.width),
      };
    },
  };
}
