/**
 * Connected components of binary images streamed by row bands, for the
 * seed's post-processing (inference step 9: `cv2.connectedComponents` with
 * 8-connectivity, keep a component only if it has more than 10 000 pixels)
 * and the optional small-hole filling of its unused `externals/postprocessing.py`.
 *
 * Two passes over the same bands, memory bounded by the width and the
 * number of labels, never by the image:
 * 1. {@linkcode ComponentLabeler} splits each row into runs. A run takes the
 *    provisional label of the first run of the previous row it touches, or a
 *    new label when it touches none; it joins (union-find) the labels of the
 *    other runs it touches. Pixel counts are kept per label.
 * 2. {@linkcode BandFilter} splits the rows again and hands out the same
 *    provisional labels in the same order, so it needs no stored runs: a
 *    run's component is its label's root.
 *
 * Labels are only made where a run touches nothing above it, so there are at
 * most as many as runs and usually far fewer. Components are numbered in
 * raster order of their first pixel.
 *
 * @module
 */

/** Rows `y0 .. y0 + data.length / width` of a binary image; non-zero is foreground. */
export interface Band {
  /** The first row. */
  y0: number;
  /** Whole rows, row by row. */
  data: Uint8Array;
}

/** A whole binary image in memory; non-zero is foreground. */
export interface BinaryImage {
  height: number;
  width: number;
  data: Uint8Array;
}

/** Options for {@linkcode ComponentLabeler}. */
export interface LabelOptions {
  /**
   * 8 (default): pixels touching at an edge or a corner are connected, as
   * `cv2.connectedComponents`' default; 4: only at an edge.
   */
  connectivity?: 4 | 8;
  /** Label the 0 pixels instead of the non-zero ones (to find holes). */
  background?: boolean;
}

/** The runs of one row: `[start[i], end[i])` with provisional `label[i]`. */
class Runs {
  start: Int32Array;
  end: Int32Array;
  label: Int32Array;
  n = 0;
  constructor(width: number) {
    const capacity = (width >> 1) + 1;
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.label = new Int32Array(capacity);
  }
}

/** The run-splitting and labelling both passes share. */
class RowScanner {
  prev: Runs;
  cur: Runs;
  labels = 0;
  runs = 0;
  rows = 0;

  constructor(
    readonly width: number,
    readonly background: boolean,
    /** 1 when runs touching at a corner connect, 0 when only at an edge. */
    readonly reach: 0 | 1,
  ) {
    this.prev = new Runs(width);
    this.cur = new Runs(width);
  }

  /** Checks that `band` is the next one and ends by row `limit`; returns its rows. */
  check(band: Band, who: string, limit = Infinity): number {
    const rows = band.data.length / this.width;
    if (!Number.isInteger(rows)) {
      throw new RangeError(
        `${who}: a band of ${band.data.length} values is not whole rows of ${this.width}`,
      );
    }
    if (band.y0 !== this.rows) {
      throw new RangeError(`${who}: band starts at row ${band.y0}, expected row ${this.rows}`);
    }
    if (this.rows + rows > limit) {
      throw new RangeError(`${who}: band ends after row ${limit}, the last of pass 1`);
    }
    return rows;
  }

  /**
   * Splits the row of `data` at `offset` into `cur` (the last row becomes
   * `prev`) and labels its runs; `join(a, b)` is called for every further
   * label a run touches.
   */
  scan(data: Uint8Array, offset: number, join?: (a: number, b: number) => void): void {
    [this.prev, this.cur] = [this.cur, this.prev];
    const { prev, cur, width, reach, background } = this;
    const end = offset + width;
    let n = 0;
    let j = 0;
    let x = offset;
    while (x < end) {
      if (background) {
        while (x < end && data[x] !== 0) x++;
      } else {
        while (x < end && data[x] === 0) x++;
      }
      if (x === end) break;
      const s = x - offset;
      if (background) {
        while (x < end && data[x] === 0) x++;
      } else {
        while (x < end && data[x] !== 0) x++;
      }
      const e = x - offset;
      cur.start[n] = s;
      cur.end[n] = e;
      // Previous runs [ps, pe) touch [s, e) when ps < e + reach and s < pe + reach.
      while (j < prev.n && prev.end[j] + reach <= s) j++;
      if (j < prev.n && prev.start[j] < e + reach) {
        const label = prev.label[j];
        cur.label[n] = label;
        for (let k = j + 1; join && k < prev.n && prev.start[k] < e + reach; k++) {
          join(label, prev.label[k]);
        }
      } else {
        cur.label[n] = this.labels++;
      }
      n++;
    }
    cur.n = n;
    this.runs += n;
    this.rows++;
  }
}

/**
 * Pass 1: labels the runs of bands pushed in order and counts pixels per
 * component; {@linkcode ComponentLabeler.finish} gives the {@linkcode Components}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ComponentLabeler } from "./components.ts";
 * // Two components: a diagonal pair (8-connected) and a single pixel.
 * const labeler = new ComponentLabeler(4);
 * labeler.push({ y0: 0, data: new Uint8Array([1, 0, 0, 1]) });
 * labeler.push({ y0: 1, data: new Uint8Array([0, 1, 0, 0]) });
 * const components = labeler.finish();
 * assert(components.sizes.join() === "2,1");
 * ```
 */
export class ComponentLabeler {
  #scan: RowScanner;
  #parent = new Int32Array(0);
  #size = new Float64Array(0);
  #border = new Uint8Array(0);
  #join = (a: number, b: number) => this.#union(a, b);

  /** Labels rows `width` pixels wide. */
  constructor(width: number, options: LabelOptions = {}) {
    const { connectivity = 8, background = false } = options;
    this.#scan = new RowScanner(width, background, connectivity === 8 ? 1 : 0);
  }

  /** Adds the next band (the first starts at row 0). */
  push(band: Band): void {
    const scan = this.#scan;
    const rows = scan.check(band, "ComponentLabeler.push");
    const { width } = scan;
    for (let r = 0; r < rows; r++) {
      scan.scan(band.data, r * width, this.#join);
      this.#grow(scan.labels);
      const { start, end, label, n } = scan.cur;
      const top = scan.rows === 1;
      for (let i = 0; i < n; i++) {
        this.#size[label[i]] += end[i] - start[i];
        if (top || start[i] === 0 || end[i] === width) this.#border[label[i]] = 1;
      }
    }
  }

  /** Ends pass 1: resolves the labels into components. */
  finish(): Components {
    const scan = this.#scan;
    const { label, n } = scan.cur;
    for (let i = 0; i < n; i++) this.#border[label[i]] = 1;
    const labels = scan.labels;
    const componentOf = new Int32Array(labels);
    let count = 0;
    for (let l = 0; l < labels; l++) {
      const root = this.#find(l);
      if (root === l) count++;
      else {
        this.#size[root] += this.#size[l];
        this.#border[root] |= this.#border[l];
      }
    }
    const sizes = new Float64Array(count);
    const border = new Uint8Array(count);
    // A parent is a smaller label of the same component, so it is numbered first.
    for (let l = 0, c = 0; l < labels; l++) {
      const parent = this.#parent[l];
      if (parent === l) {
        sizes[c] = this.#size[l];
        border[c] = this.#border[l];
        componentOf[l] = c++;
      } else componentOf[l] = componentOf[parent];
    }
    return new LabelledComponents(scan, componentOf, sizes, border);
  }

  #grow(labels: number): void {
    const old = this.#parent.length;
    if (labels <= old) return;
    const parent = new Int32Array(Math.max(labels, 2 * old, 1024));
    parent.set(this.#parent);
    for (let l = old; l < parent.length; l++) parent[l] = l;
    const size = new Float64Array(parent.length);
    size.set(this.#size);
    const border = new Uint8Array(parent.length);
    border.set(this.#border);
    [this.#parent, this.#size, this.#border] = [parent, size, border];
  }

  #find(a: number): number {
    const parent = this.#parent;
    while (parent[a] !== a) a = parent[a] = parent[parent[a]];
    return a;
  }

  /** Joins two labels; the smaller root wins, so a root is its component's first run. */
  #union(a: number, b: number): void {
    a = this.#find(a);
    b = this.#find(b);
    if (a < b) this.#parent[b] = a;
    else if (b < a) this.#parent[a] = b;
  }
}

/**
 * The components found by pass 1, numbered in raster order of their first
 * pixel, and the way to pass 2.
 */
export interface Components {
  /** The image's width. */
  readonly width: number;
  /** The image's height (rows pushed). */
  readonly height: number;
  /** The number of components. */
  readonly count: number;
  /** Pixels per component. */
  readonly sizes: Float64Array;
  /** 1 where a component touches the first or last row or column. */
  readonly touchesBorder: Uint8Array;
  /**
   * Pass 2: a filter that sets the labelled pixels of components where
   * `keep(index)` is true to 1 and those of the others to 0, and copies
   * every other pixel as 0 or 1. For foreground components this removes the
   * rejected ones; for background ones it fills the kept ones.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { ComponentLabeler } from "./components.ts";
   * const labeler = new ComponentLabeler(4);
   * const band = { y0: 0, data: new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1]) };
   * labeler.push(band);
   * const components = labeler.finish();
   * const out = components.select((i) => components.sizes[i] > 1).filterBand(band);
   * assert(out.join() === "1,1,0,0,0,0,0,0");
   * ```
   */
  select(keep: (index: number) => boolean): BandFilter;
}

/**
 * Pass 2 of one selection: feed it the bands of pass 1 again, in order from
 * row 0; a band at row 0 starts a new pass.
 */
export interface BandFilter {
  /** Returns `band` filtered, as a new array of 0 and 1. */
  filterBand(band: Band): Uint8Array;
}

class LabelledComponents implements Components {
  readonly width: number;
  readonly height: number;
  constructor(
    readonly scan: RowScanner,
    readonly componentOf: Int32Array,
    readonly sizes: Float64Array,
    readonly touchesBorder: Uint8Array,
  ) {
    this.width = scan.width;
    this.height = scan.rows;
  }

  get count(): number {
    return this.sizes.length;
  }

  select(keep: (index: number) => boolean): BandFilter {
    const selected = new Uint8Array(this.count);
    for (let c = 0; c < selected.length; c++) selected[c] = keep(c) ? 1 : 0;
    const byLabel = new Uint8Array(this.componentOf.length);
    for (let l = 0; l < byLabel.length; l++) byLabel[l] = selected[this.componentOf[l]];
    return new RunFilter(this.scan, byLabel);
  }
}

class RunFilter implements BandFilter {
  scan: RowScanner;
  constructor(readonly first: RowScanner, readonly selected: Uint8Array) {
    this.scan = this.#fresh();
  }

  filterBand(band: Band): Uint8Array {
    if (band.y0 === 0) this.scan = this.#fresh();
    const { scan, first, selected } = this;
    const rows = scan.check(band, "filterBand", first.rows);
    const { width, background } = scan;
    const out = new Uint8Array(band.data.length);
    if (background) {
      for (let i = 0; i < out.length; i++) out[i] = band.data[i] === 0 ? 0 : 1;
    }
    for (let r = 0; r < rows && scan.labels <= first.labels; r++) {
      scan.scan(band.data, r * width);
      const { start, end, label, n } = scan.cur;
      for (let i = 0; i < n; i++) {
        if (selected[label[i]]) out.fill(1, r * width + start[i], r * width + end[i]);
      }
    }
    if (scan.labels > first.labels || (scan.rows === first.rows && scan.runs !== first.runs)) {
      throw new Error("filterBand: the bands differ from those of pass 1");
    }
    return out;
  }

  #fresh(): RowScanner {
    const { width, background, reach } = this.first;
    return new RowScanner(width, background, reach);
  }
}

/**
 * Pass 1 over a stream of bands.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { labelComponents } from "./components.ts";
 * const bands = [{ y0: 0, data: new Uint8Array([1, 0, 1]) }];
 * const components = await labelComponents(bands, 3);
 * assert(components.count === 2);
 * ```
 */
export async function labelComponents(
  bands: AsyncIterable<Band> | Iterable<Band>,
  width: number,
  options?: LabelOptions,
): Promise<Components> {
  const labeler = new ComponentLabeler(width, options);
  for await (const band of bands) labeler.push(band);
  return labeler.finish();
}

/** Options for {@linkcode postprocessBands}. */
export interface PostprocessOptions {
  /**
   * Components of at most this many pixels are removed. The seed's
   * inference notebook keeps components with more than 10 000 pixels, so
   * its value is 10 000. Default 0: keep every component.
   */
  maxSize?: number;
  /**
   * Fill holes first: 4-connected background components of fewer than this
   * many pixels that do not touch the image border. Default 0: no filling.
   */
  holeSize?: number;
}

/**
 * The seed's post-processing over a re-readable stream of binary bands:
 * optional hole filling, then removal of small 8-connected components.
 * `open()` is called once per pass (two passes, three with hole filling);
 * each pass must give the same bands.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { postprocessBands } from "./components.ts";
 * const data = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1]);
 * const out = [];
 * for await (const band of postprocessBands(() => [{ y0: 0, data }], 4, { maxSize: 1 })) {
 *   out.push(...band.data);
 * }
 * assert(out.join() === "1,1,0,0,0,0,0,0");
 * ```
 */
export async function* postprocessBands(
  open: () => AsyncIterable<Band> | Iterable<Band>,
  width: number,
  options: PostprocessOptions = {},
): AsyncGenerator<Band> {
  const { maxSize = 0, holeSize = 0 } = options;
  let read = open;
  if (holeSize > 0) {
    const holes = await labelComponents(open(), width, { connectivity: 4, background: true });
    const fill = holes.select((i) => holes.sizes[i] < holeSize && !holes.touchesBorder[i]);
    read = async function* () {
      for await (const band of open()) yield { y0: band.y0, data: fill.filterBand(band) };
    };
  }
  const components = await labelComponents(read(), width);
  const keep = components.select((i) => components.sizes[i] > maxSize);
  for await (const band of read()) yield { y0: band.y0, data: keep.filterBand(band) };
}

/**
 * The seed's step 9 on an image in memory: removes the 8-connected
 * components of at most `maxSize` pixels (the seed keeps those of more than
 * 10 000). Returns a new array of 0 and 1.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { removeSmallComponents } from "./components.ts";
 * const data = new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1]);
 * const out = removeSmallComponents({ height: 2, width: 4, data }, 1);
 * assert(out.join() === "1,1,0,0,0,0,0,0");
 * ```
 */
export function removeSmallComponents(image: BinaryImage, maxSize: number): Uint8Array {
  const band = { y0: 0, data: image.data };
  const labeler = new ComponentLabeler(image.width);
  labeler.push(band);
  const components = labeler.finish();
  return components.select((i) => components.sizes[i] > maxSize).filterBand(band);
}

/**
 * Fills the holes of an image in memory: 4-connected background
 * components of fewer than `holeSize` pixels that do not touch the border.
 * (4-connected background is the dual of 8-connected foreground: a hole
 * closed by diagonal steps counts as a hole.) Returns a new array of 0 and 1.
 *
 * The seed's unused `externals/postprocessing.py` labels the background with
 * `scipy.ndimage.label` (also 4-connected) and fills components below its
 * threshold even where they touch the border; this function does not.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fillSmallHoles } from "./components.ts";
 * const data = new Uint8Array([1, 1, 1, 1, 0, 1, 1, 1, 1]);
 * assert(fillSmallHoles({ height: 3, width: 3, data }, 2).every((v) => v === 1));
 * ```
 */
export function fillSmallHoles(image: BinaryImage, holeSize: number): Uint8Array {
  const band = { y0: 0, data: image.data };
  const labeler = new ComponentLabeler(image.width, { connectivity: 4, background: true });
  labeler.push(band);
  const holes = labeler.finish();
  return holes.select((i) => holes.sizes[i] < holeSize && !holes.touchesBorder[i])
    .filterBand(band);
}
