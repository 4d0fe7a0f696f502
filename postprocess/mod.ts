/**
 * Host-side post-processing of ink probability maps, streamed by row bands
 * (no GPU): the seed's connected-component filter and optional hole
 * filling, its run-length encoding and submission CSV, its F0.5 validation
 * metric over many thresholds at once, and a small PNG line plot.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rle, removeSmallComponents } from "./mod.ts";
 * const image = { height: 2, width: 4, data: new Uint8Array([1, 1, 0, 0, 0, 0, 0, 1]) };
 * const kept = removeSmallComponents(image, 1);
 * assert(rle({ ...image, data: kept }) === "1 2");
 * ```
 *
 * @module
 */

export {
  type Band,
  type BandFilter,
  type BinaryImage,
  ComponentLabeler,
  type Components,
  fillSmallHoles,
  labelComponents,
  type LabelOptions,
  postprocessBands,
  type PostprocessOptions,
  removeSmallComponents,
} from "./components.ts";
export { decodeRle, rle, RleEncoder, submissionCsv, type SubmissionRow } from "./rle.ts";
export {
  bestThreshold,
  type Confusion,
  ConfusionCounter,
  type Fbeta,
  SEED_THRESHOLDS,
  seedFbeta,
  sklearnFbeta,
} from "./metrics.ts";
export { type PlotOptions, renderPlot, type RgbImage, type Series, writePlot } from "./plot.ts";
