/**
 * The contract between the pipeline engine and the stages.
 *
 * A stage is a small record: a name, a version, a valibot schema for its
 * parameters, typed input and output ports, and a `run` function. The engine
 * validates parameters and port kinds before anything runs, then calls `run`
 * once per node in topological order, passing the upstream outputs.
 *
 * Port values flow between stages as plain objects. Streaming ports (`tiles`,
 * `maps`) carry an `AsyncIterable` of batches whose tensors live on the GPU;
 * a consumer pulls batches and calls `release()` on each one when it is done,
 * so GPU memory is bounded by the batches in flight, not by the fragment.
 *
 * @module
 */

import type * as v from "valibot";
import type { Gpu } from "../kernels/device.ts";
import type { GpuTensor } from "../kernels/tensor.ts";
import type { VolumeSource } from "../data/volume.ts";
import type { Image2D } from "../data/image.ts";

/** The kinds of value a port can carry. */
export type PortKind =
  /** A lazily read (depth, height, width) volume on the host, see {@linkcode VolumePort}. */
  | "volume"
  /** A stream of 3D tile batches on the GPU, see {@linkcode TileStream}. */
  | "tiles"
  /** A stream of 2D per-tile maps on the GPU, see {@linkcode MapStream}. */
  | "maps"
  /** A whole-fragment 2D image read by row bands, see {@linkcode ImagePort}. */
  | "image"
  /** Files written by a sink stage, see {@linkcode FilesPort}. */
  | "files";

/** What a port declares about the values it carries. */
export interface PortSpec {
  kind: PortKind;
  /** Element type of the data ("f32", "u8", "u16"); omitted when any is accepted. */
  dtype?: "f32" | "u8" | "u16";
  /** Shape in words, for the docs, for example "(B, 1, D, T, T)". */
  shape?: string;
  /** Value range, for the docs, for example [0, 1]. */
  range?: [number, number];
  /** One line for the docs. */
  description: string;
  /**
   * An input port that may be left unconnected, or an output port that a run
   * may not produce (a fragment without a mask); reading an absent output is
   * a run-time error naming the node and port.
   */
  optional?: boolean;
}

/** A volume port: a lazy reader plus how its voxels are normalised on the GPU. */
export interface VolumePort {
  kind: "volume";
  source: VolumeSource;
  /** How raw integers become float32 in [0, 1] when tiles are cropped. */
  normalize: Normalization;
  /** Papyrus mask (255 = data), same height and width, when the input has one. */
  mask?: Image2D;
  /** Ink labels (255 = ink), same height and width, when the input has them. */
  labels?: Image2D;
}

/**
 * Voxel normalisation. `seed` is the 1st-place solution's exact rule for
 * 16-bit data: `(v >> 8) / 255` (OpenCV's 16-to-8-bit read, then /255);
 * `u16` is `v / 65535`; `u8` is `v / 255` (for 8-bit volumes); `none` keeps
 * the raw integer value as a float.
 */
export type Normalization = "seed" | "u16" | "u8" | "none";

/** A host-side 2D image in row-major order (the data layer's type). */
export type { Image2D };

/** Where a tile or map sits in the (padded) fragment. */
export interface TileGrid {
  /** Tile edge in pixels. */
  tile: number;
  /** Distance between tile origins. */
  stride: number;
  /** Original fragment height and width (outputs are cropped back to this). */
  height: number;
  width: number;
  /** Height and width after the seed's zero padding. */
  paddedHeight: number;
  paddedWidth: number;
}

/** A batch of tiles or maps on the GPU. */
export interface GpuBatch {
  /** (B, C, D, T, T) for tiles, (B, C, T, T) for maps; float32. */
  tensor: GpuTensor;
  /** Tile origins as [y0, x0] pairs in padded-fragment pixels, one per batch item. */
  origins: Int32Array;
  /** Number of valid items (the tensor may be allocated for a larger batch). */
  count: number;
  /** Releases the GPU memory of this batch; each consumer calls it once. */
  release(): void;
  /** Adds a reference for a second consumer (used when a stream feeds two nodes). */
  retain(): void;
}

/** A stream of 3D tile batches. */
export interface TileStream {
  kind: "tiles";
  grid: TileGrid;
  /** Depth of each tile (layers in the window). */
  depth: number;
  /** Channels per tile (1 for CT input). */
  channels: number;
  /** Total number of tiles the stream will yield (after tile selection). */
  total: number;
  /** Papyrus mask and labels, passed through from the volume. */
  mask?: Image2D;
  labels?: Image2D;
  /** Set by `tta_expand`: the batches hold test-time augmentation variants. */
  tta?: TtaInfo;
  /** Set by the producer when it can skip tiles a consumer already has; see {@linkcode ResumePoint}. */
  resume?: ResumePoint;
  batches: AsyncIterable<GpuBatch>;
}

/** A stream of 2D per-tile maps (depth already reduced). */
export interface MapStream {
  kind: "maps";
  grid: TileGrid;
  channels: number;
  total: number;
  mask?: Image2D;
  labels?: Image2D;
  /** Set by `tta_expand` upstream: the batches hold test-time augmentation variants. */
  tta?: TtaInfo;
  /** See {@linkcode TileStream.resume}. */
  resume?: ResumePoint;
  batches: AsyncIterable<GpuBatch>;
}

/**
 * Lets the consumer of a stream of row-ordered tiles say, before it pulls
 * the first batch, that it already has every row above `row`: the producer
 * (`tile_crop`) then skips the tiles that lie wholly above it. Stages that
 * pass batches through keep the field (spreading their input stream); the
 * engine removes it from a stream read by two nodes.
 */
export interface ResumePoint {
  row: number;
}

/**
 * Test-time augmentation carried by a stream between `tta_expand` and
 * `tta_merge`. Variant g is `torch.rot90(flip ? torch.flip(x, dims=(-1,)) : x,
 * k, dims=(-2, -1))` of every tile. A batch of `count` items holds n = count / G
 * tiles, variant-major: variant g of tile b is item `g * n + b`, and every
 * variant repeats its tile's origin. Stages between the two must keep each
 * batch's items in order (any per-item stage does) and pass this field on.
 */
export interface TtaInfo {
  variants: { k: number; flip: boolean }[];
}

/** Rows `y0 .. y0 + data.length / width` of an image, row by row. */
export interface ImageBand {
  y0: number;
  data: Float32Array | Uint8Array | Uint16Array;
}

/**
 * A whole-fragment 2D image, read by row bands so that no consumer has to
 * hold it in memory: a blended map lives in a Zarr array in the run's work
 * folder, a small image may live in memory. `bands()` starts a new pass
 * from row 0 each time it is called; see stages/images.ts for the helpers
 * that make and read these ports.
 */
export interface ImagePort {
  kind: "image";
  height: number;
  width: number;
  dtype: "f32" | "u8" | "u16";
  /** The natural band height (the store's chunk rows): reads of this many rows are cheapest. */
  bandRows: number;
  /** Rows `[y0, y1)` as a new array or a view that the caller must not change. */
  readRows(y0: number, y1: number): Promise<Float32Array | Uint8Array | Uint16Array>;
  /** Papyrus mask (non-zero = data), same height and width, when known. */
  mask?: Image2D;
  /** Ink labels (non-zero = ink), same height and width, when known. */
  labels?: Image2D;
}

/** The files a sink wrote, relative to the run's output folder. */
export interface FilesPort {
  kind: "files";
  files: string[];
}

/** Any port value. */
export type PortValue = VolumePort | TileStream | MapStream | ImagePort | FilesPort;

/** Reports progress of a long stage; the engine draws it on stderr. */
export interface Progress {
  /** Sets the total number of units (tiles, rows...) and their name. */
  start(total: number, unit: string): void;
  /** Advances by `n` units. */
  tick(n?: number): void;
  /** Marks the stage done. */
  done(): void;
}

/** What the engine hands to a running stage. */
export interface StageContext {
  /** The node id in the pipeline file. */
  node: string;
  /** The GPU (acquired lazily: stages that never touch it do not start one). */
  gpu(): Promise<Gpu>;
  /** The run's output folder (absolute). */
  outDir: string;
  /** The folder that relative input paths in the pipeline resolve against. */
  baseDir: string;
  /** Progress reporting for this node. */
  progress: Progress;
  /**
   * Writes an output atomically: `write` receives a temporary path beside
   * `relPath`, and the engine renames it into place only when `write`
   * resolves. Returns the final absolute path.
   */
  writeOutput(relPath: string, write: (tmpPath: string) => Promise<void>): Promise<string>;
  /**
   * This node's work folder (`OUT/.work/NODE`, created on first call) for
   * intermediate results such as blended maps flushed band by band. It
   * survives a failed or killed run so the next run with the same output
   * folder can resume, and is removed when a run completes.
   */
  workDir(): Promise<string>;
  /**
   * A digest of this node's stage, version and parameters and those of every
   * node upstream of it (with the size and time of their input files): work
   * left by an earlier run is reused only when its fingerprint matches.
   */
  fingerprint: string;
  /** Prints a DEBUG message when DEBUG >= level. */
  debug(level: number, message: string): void;
}

/** A registered stage. */
export interface Stage<P = Record<string, unknown>> {
  /** Registry name used in YAML (`stage: tile_crop`). */
  name: string;
  /** Bumped whenever outputs for the same inputs and params change. */
  version: string;
  /** One line for `deno task stages`. */
  description: string;
  /** The parameter schema: a valibot object schema with defaults and descriptions. */
  params: v.ObjectSchema<v.ObjectEntries, undefined>;
  /** Input ports by name. The first one receives a bare `from: node`. */
  inputs: Record<string, PortSpec>;
  /** Output ports by name. The first one is the node's default output. */
  outputs: Record<string, PortSpec>;
  /**
   * Path parameters that resolve against another (directory) parameter
   * rather than the pipeline folder, e.g. `{ weights: "weights_dir" }`.
   */
  pathBase?: Record<string, string>;
  /** Where the files of missing `pathParams` come from, appended to the error (one line). */
  missingPathHint?: string;
  /** Names of parameters that are file paths: resolved against the pipeline folder and checked. */
  pathParams?: string[];
  /**
   * Names of parameters that name outputs: paths relative to the run's
   * output folder (absolute paths and `..` are rejected). Pass them to
   * {@linkcode StageContext.writeOutput}.
   */
  outputParams?: string[];
  /** Runs the stage. Inputs hold the connected upstream values by input port name. */
  run(
    ctx: StageContext,
    inputs: Record<string, PortValue | undefined>,
    params: P,
  ): Promise<Record<string, PortValue>>;
}
