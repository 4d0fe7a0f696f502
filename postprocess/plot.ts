/**
 * A small dependency-free line plot renderer: axes, ticks with numbers,
 * grid, one or more series in colour and a legend, drawn with a built-in
 * 5x8 bitmap font into an RGB image and written as a PNG. Used for "F0.5
 * vs threshold" and "loss and F0.5 per epoch".
 *
 * @module
 */

import { encode } from "fast-png";

/** One line of a plot; points with a non-finite coordinate are gaps. */
export interface Series {
  /** The legend's text. */
  name: string;
  x: readonly number[];
  y: readonly number[];
}

/** Options for {@linkcode renderPlot}. */
export interface PlotOptions {
  /** Image width in pixels; default 640. */
  width?: number;
  /** Image height in pixels; default 400. */
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** The x axis range; by default the data's, widened to ticks. */
  xRange?: readonly [number, number];
  /** The y axis range; by default the data's, widened to ticks. */
  yRange?: readonly [number, number];
}

/** An RGB image, 3 bytes per pixel, row by row. */
export interface RgbImage {
  height: number;
  width: number;
  data: Uint8Array;
}

type Rgb = readonly [number, number, number];

const COLOURS: readonly Rgb[] = [
  [31, 119, 180],
  [255, 127, 14],
  [44, 160, 44],
  [214, 39, 40],
  [148, 103, 189],
  [140, 86, 75],
];
const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [225, 225, 225];
const SCALE = 2;
const GLYPH_W = 6 * SCALE;

/**
 * Glyphs of ASCII 32..126, 5 columns of one byte each (bit 0 is the top
 * row, bit 7 the descender row); 8 glyphs a line.
 */
const FONT = [
  "000000000000005f00000007000700147f147f14242a7f2a12231308646236495522500005030000", //  !"#$%&'
  "001c2241000041221c00082a1c2a0808083e08080050300000080808080800606000002010080402", // ()*+,-./
  "3e5149453e00427f400042615149462141454b311814127f1027454545393c4a4949300171090503", // 01234567
  "3649494936064949291e003636000000563600000814224100141414141400412214080201510906", // 89:;<=>?
  "324979413e7e1111117e7f494949363e414141227f4141221c7f494949417f090909013e4149497a", // @ABCDEFG
  "7f0808087f00417f41002040413f017f081422417f404040407f020c027f7f0408107f3e4141413e", // HIJKLMNO
  "7f090909063e4151215e7f09192946464949493101017f01013f4040403f1f2040201f3f4038403f", // PQRSTUVW
  "631408146307087008076151494543007f41410002040810200041417f0004020102044040404040", // XYZ[\]^_
  "000102040020545454787f484444383844444420384444487f3854545418087e09010298a4a4a47c", // `abcdefg
  "7f0804047800447d40004080847d007f1028440000417f40007c041804787c080404783844444438", // hijklmno
  "fc2424241818242424fc7c080404084854545420043f4440203c4040207c1c2040201c3c4030403c", // pqrstuvw
  "44281028449ca0a0a07c4464544c44000836410000007f000000413608000804081008", // xyz{|}~
].join("");

/**
 * Renders series as lines (with markers when there are few points) on
 * shared axes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderPlot } from "./plot.ts";
 * const image = renderPlot([{ name: "F0.5", x: [0.1, 0.5, 0.9], y: [0.2, 0.6, 0.3] }]);
 * assert(image.data.length === image.width * image.height * 3);
 * ```
 */
export function renderPlot(series: readonly Series[], options: PlotOptions = {}): RgbImage {
  const { width = 640, height = 400, title, xLabel, yLabel } = options;
  const image = { width, height, data: new Uint8Array(width * height * 3).fill(255) };
  const points = series.flatMap((s) => s.x.map((x, i) => [x, s.y[i]]))
    .filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const xAxis = axis(options.xRange ?? extent(points.map((p) => p[0])));
  const yAxis = axis(options.yRange ?? extent(points.map((p) => p[1])));
  const yText = Math.max(...yAxis.labels.map((l) => l.length)) * GLYPH_W;
  const left = 10 + (yLabel ? 12 * SCALE : 0) + yText + 8;
  const top = title ? 14 * SCALE : 10;
  const right = width - 24;
  const bottom = height - 16 - (xLabel ? 12 * SCALE : 0) - 10 * SCALE;
  const sx = (x: number) => left + (x - xAxis.lo) / (xAxis.hi - xAxis.lo) * (right - left);
  const sy = (y: number) => bottom - (y - yAxis.lo) / (yAxis.hi - yAxis.lo) * (bottom - top);

  xAxis.ticks.forEach((t, i) => {
    const x = Math.round(sx(t));
    line(image, x, top, x, bottom, GRID, 1);
    line(image, x, bottom, x, bottom + 4, BLACK, 1);
    const label = xAxis.labels[i];
    text(image, label, x - label.length * GLYPH_W / 2, bottom + 8, BLACK);
  });
  yAxis.ticks.forEach((t, i) => {
    const y = Math.round(sy(t));
    line(image, left, y, right, y, GRID, 1);
    line(image, left - 4, y, left, y, BLACK, 1);
    const label = yAxis.labels[i];
    text(image, label, left - 8 - label.length * GLYPH_W, y - 4 * SCALE, BLACK);
  });
  line(image, left, top, left, bottom, BLACK, 1);
  line(image, left, bottom, right, bottom, BLACK, 1);
  line(image, right, top, right, bottom, BLACK, 1);
  line(image, left, top, right, top, BLACK, 1);
  if (title) text(image, title, (left + right - title.length * GLYPH_W) / 2, 6, BLACK);
  if (xLabel) {
    text(image, xLabel, (left + right - xLabel.length * GLYPH_W) / 2, height - 12 * SCALE, BLACK);
  }
  if (yLabel) {
    text(image, yLabel, 8, (top + bottom + yLabel.length * GLYPH_W) / 2, BLACK, true);
  }

  const clip = { x0: left, y0: top, x1: right, y1: bottom };
  const drawn: [number, number][] = [];
  series.forEach((s, k) => {
    const colour = COLOURS[k % COLOURS.length];
    let last: [number, number] | undefined;
    for (let i = 0; i < s.x.length; i++) {
      if (!Number.isFinite(s.x[i]) || !Number.isFinite(s.y[i])) {
        last = undefined;
        continue;
      }
      const p: [number, number] = [Math.round(sx(s.x[i])), Math.round(sy(s.y[i]))];
      if (last) {
        line(image, ...last, ...p, colour, 2, clip);
        const n = Math.ceil(Math.hypot(p[0] - last[0], p[1] - last[1]) / 4);
        for (let j = 1; j < n; j++) {
          drawn.push([last[0] + (p[0] - last[0]) * j / n, last[1] + (p[1] - last[1]) * j / n]);
        }
      }
      drawn.push(p);
      if (s.x.length <= 60) line(image, ...p, ...p, colour, 5, clip);
      last = p;
    }
  });

  const names = series.map((s) => s.name);
  if (names.some((n) => n)) {
    const w = Math.max(...names.map((n) => n.length)) * GLYPH_W + 40;
    const h = names.length * 12 * SCALE + 8;
    // The corner whose box covers the least of the lines, top right first.
    const corners = [
      [right - w - 8, top + 8],
      [left + 8, top + 8],
      [right - w - 8, bottom - h - 8],
      [
        left + 8,
        bottom - h - 8,
      ],
    ];
    const covered = ([x, y]: number[]) =>
      drawn.filter(([u, v]) => u >= x - 4 && u <= x + w + 4 && v >= y - 4 && v <= y + h + 4).length;
    const [x0, y0] = corners.reduce((a, b) => covered(b) < covered(a) ? b : a);
    fillRect(image, x0, y0, x0 + w, y0 + h, [255, 255, 255]);
    for (const [a, b, c, d] of [[0, 0, w, 0], [0, h, w, h], [0, 0, 0, h], [w, 0, w, h]]) {
      line(image, x0 + a, y0 + b, x0 + c, y0 + d, GRID, 1);
    }
    names.forEach((n, k) => {
      const y = y0 + 4 + k * 12 * SCALE + 5 * SCALE;
      line(image, x0 + 6, y, x0 + 28, y, COLOURS[k % COLOURS.length], 3);
      text(image, n, x0 + 34, y - 4 * SCALE, BLACK);
    });
  }
  return image;
}

/**
 * Renders a plot and writes it as an RGB PNG.
 *
 * @example
 * ```ts
 * import { writePlot } from "./plot.ts";
 * const path = await Deno.makeTempFile({ suffix: ".png" });
 * await writePlot(path, [{ name: "loss", x: [0, 1, 2], y: [0.9, 0.5, 0.4] }], {
 *   title: "Training",
 *   xLabel: "epoch",
 * });
 * ```
 */
export async function writePlot(
  path: string,
  series: readonly Series[],
  options?: PlotOptions,
): Promise<void> {
  const { width, height, data } = renderPlot(series, options);
  await Deno.writeFile(path, encode({ width, height, data, depth: 8, channels: 3 }));
}

/** The data's range, or a unit one around a single value (0..1 for none). */
function extent(values: number[]): [number, number] {
  if (!values.length) return [0, 1];
  let [lo, hi] = [Math.min(...values), Math.max(...values)];
  if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
  return [lo, hi];
}

/** Round ticks (1, 2 or 5 times a power of ten) over about five steps, and the range they span. */
function axis([min, max]: readonly [number, number]) {
  const raw = (max - min) / 5;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = power * [1, 2, 5, 10].find((m) => m * power >= raw * 0.999)!;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const [first, last] = [Math.floor(min / step + 1e-9), Math.ceil(max / step - 1e-9)];
  const ticks = [];
  for (let i = first; i <= last; i++) ticks.push(i * step);
  const labels = ticks.map((t) => (Math.abs(t) < step / 2 ? 0 : t).toFixed(decimals));
  return { lo: first * step, hi: last * step, ticks, labels };
}

function set(image: RgbImage, x: number, y: number, [r, g, b]: Rgb): void {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
  const i = (y * image.width + x) * 3;
  [image.data[i], image.data[i + 1], image.data[i + 2]] = [r, g, b];
}

function fillRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number, c: Rgb) {
  for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) set(image, x, y, c);
}

/** A Bresenham line drawn with a square pen `size` pixels wide, optionally clipped. */
function line(
  image: RgbImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  c: Rgb,
  size: number,
  clip = { x0: 0, y0: 0, x1: image.width - 1, y1: image.height - 1 },
): void {
  const [dx, dy] = [Math.abs(x1 - x0), -Math.abs(y1 - y0)];
  const [stepX, stepY] = [x0 < x1 ? 1 : -1, y0 < y1 ? 1 : -1];
  const half = size >> 1;
  let err = dx + dy;
  for (let [x, y] = [x0, y0];;) {
    for (let v = y - half; v < y - half + size; v++) {
      for (let u = x - half; u < x - half + size; u++) {
        if (u >= clip.x0 && u <= clip.x1 && v >= clip.y0 && v <= clip.y1) set(image, u, v, c);
      }
    }
    if (x === x1 && y === y1) break;
    const e2 = 2 * err;
    if (e2 >= dy) [err, x] = [err + dy, x + stepX];
    if (e2 <= dx) [err, y] = [err + dx, y + stepY];
  }
}

/** Draws text from its top left corner, or upwards from its bottom left when `vertical`. */
function text(image: RgbImage, s: string, x: number, y: number, c: Rgb, vertical = false) {
  [x, y] = [Math.round(x), Math.round(y)];
  for (let k = 0; k < s.length; k++) {
    const code = s.charCodeAt(k);
    const glyph = code >= 32 && code < 127 ? code - 32 : 31; // "?" for the rest
    for (let col = 0; col < 5; col++) {
      const bits = parseInt(FONT.substr((glyph * 5 + col) * 2, 2), 16);
      for (let row = 0; row < 8; row++) {
        if (!(bits >> row & 1)) continue;
        const [u, v] = [(k * 6 + col) * SCALE, row * SCALE];
        const [px, py] = vertical ? [x + v, y - u] : [x + u, y + v];
        fillRect(image, px, py, px + SCALE - 1, py + SCALE - 1, c);
      }
    }
  }
}
