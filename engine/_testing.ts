// Fake stages and helpers for the engine's tests. Not part of the public API.

import * as v from "valibot";
import { UserError } from "../data/errors.ts";
import { join } from "node:path";
import { StageRegistry } from "../stages/registry.ts";
import { memoryImage } from "../stages/images.ts";
import type {
  GpuBatch,
  ImagePort,
  PortValue,
  Stage,
  TileGrid,
  TileStream,
} from "../stages/types.ts";

/** Reference counts of every fake batch made, to check retain/release balance. */
export class BatchLedger {
  made = 0;
  retains = 0;
  releases = 0;
  /** Live references by batch index. */
  refs: number[] = [];

  batch(index: number): GpuBatch {
    this.made++;
    this.refs[index] = 1;
    return {
      tensor: {} as GpuBatch["tensor"],
      origins: new Int32Array([index, 0]),
      count: 1,
      retain: () => {
        this.retains++;
        this.refs[index]++;
      },
      release: () => {
        this.releases++;
        this.refs[index]--;
        if (this.refs[index] < 0) {
          throw new Error(`batch ${index} released too often`);
        }
      },
    };
  }

  /** True when every batch made was released as often as it was referenced. */
  balanced(): boolean {
    return this.refs.every((r) => r === 0) &&
      this.releases === this.made + this.retains;
  }
}

const GRID: TileGrid = {
  tile: 4,
  stride: 4,
  height: 8,
  width: 8,
  paddedHeight: 8,
  paddedWidth: 8,
};

const int = (min: number, fallback: number, description: string) =>
  v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(min),
      v.description(description),
    ),
    fallback,
  );

/** Builds a registry of small fake stages sharing one ledger. */
export function fakeRegistry(ledger = new BatchLedger()): StageRegistry {
  const registry = new StageRegistry();

  const source: Stage<
    { path?: string; normalize: string; start: number; labels: boolean }
  > = {
    name: "read_volume",
    version: "1",
    description: "Reads a fake volume",
    params: v.object({
      path: v.optional(v.pipe(v.string(), v.description("Volume folder"))),
      normalize: v.optional(v.picklist(["seed", "u16", "u8", "none"]), "seed"),
      start: int(0, 0, "First layer"),
      labels: v.optional(v.boolean(), true),
    }),
    inputs: {},
    outputs: {
      volume: { kind: "volume", description: "The volume" },
      mask: { kind: "image", dtype: "u8", description: "Papyrus mask" },
      labels: {
        kind: "image",
        dtype: "u8",
        optional: true,
        description: "Ink labels",
      },
    },
    pathParams: ["path"],
    run: (_ctx, _inputs, p) => {
      const image: ImagePort = memoryImage({ height: 1, width: 1, data: new Uint8Array(1) });
      const volume = { kind: "volume" } as unknown as PortValue;
      const out: Record<string, PortValue> = { volume, mask: image };
      if (p.labels) out.labels = image;
      return Promise.resolve(out);
    },
  };

  const tiles: Stage<
    { tile: number; stride: number; batches: number; failAt: number }
  > = {
    name: "tile_crop",
    version: "2",
    description: "Crops fake tiles",
    params: v.object({
      tile: v.optional(
        v.pipe(
          v.number(),
          v.integer(),
          v.minValue(1),
          v.maxValue(4096),
          v.description("Tile edge"),
        ),
        256,
      ),
      stride: int(1, 64, "Distance between tiles"),
      batches: int(0, 3, "Batches to yield"),
      failAt: int(-1, -1, "Throw before this batch (-1: never)"),
    }),
    inputs: { volume: { kind: "volume", description: "The volume" } },
    outputs: { tiles: { kind: "tiles", dtype: "f32", description: "Tiles" } },
    run: (ctx, _inputs, p) => {
      async function* gen(): AsyncGenerator<GpuBatch> {
        ctx.progress.start(p.batches, "tiles");
        for (let i = 0; i < p.batches; i++) {
          if (i === p.failAt) throw new Error("tile_crop failed on purpose");
          await new Promise((r) => setTimeout(r, 1));
          yield ledger.batch(i);
          ctx.progress.tick();
        }
      }
      const stream: TileStream = {
        kind: "tiles",
        grid: GRID,
        depth: 1,
        channels: 1,
        total: p.batches,
        batches: gen(),
      };
      return Promise.resolve({ tiles: stream });
    },
  };

  const model: Stage = {
    name: "model",
    version: "1",
    description: "Maps tiles to maps one for one",
    params: v.object({}),
    inputs: { tiles: { kind: "tiles", dtype: "f32", description: "Tiles" } },
    outputs: { maps: { kind: "maps", description: "Maps" } },
    run: (_ctx, inputs) => {
      const up = inputs.tiles as TileStream;
      async function* gen(): AsyncGenerator<GpuBatch> {
        for await (const batch of up.batches) yield batch;
      }
      return Promise.resolve({
        maps: {
          kind: "maps",
          grid: up.grid,
          channels: 1,
          total: up.total,
          batches: gen(),
        },
      });
    },
  };

  const blend: Stage = {
    name: "blend",
    version: "1",
    description: "Sums maps into an image",
    params: v.object({}),
    inputs: {
      maps: { kind: "maps", description: "Maps" },
      mask: { kind: "image", dtype: "u8", optional: true, description: "Mask" },
    },
    outputs: { image: { kind: "image", dtype: "f32", description: "Image" } },
    run: async (_ctx, inputs) => {
      let n = 0;
      for await (
        const batch of (inputs.maps as { batches: AsyncIterable<GpuBatch> })
          .batches
      ) {
        n += batch.count;
        batch.release();
      }
      const data = new Float32Array([n]);
      return { image: memoryImage({ height: 1, width: 1, data }) };
    },
  };

  const count: Stage = {
    name: "count",
    version: "1",
    description: "Counts tiles",
    params: v.object({ name: v.optional(v.string(), "count.txt") }),
    inputs: { tiles: { kind: "tiles", description: "Tiles" } },
    outputs: { files: { kind: "files", description: "The count" } },
    outputParams: ["name"],
    run: async (ctx, inputs, params) => {
      let n = 0;
      for await (const batch of (inputs.tiles as TileStream).batches) {
        n++;
        batch.release();
      }
      const name = params.name as string;
      await ctx.writeOutput(name, (tmp) => Deno.writeTextFile(tmp, String(n)));
      return { files: { kind: "files", files: [name] } };
    },
  };

  const write: Stage = {
    name: "write_png",
    version: "1",
    description: "Writes an image as text",
    params: v.object({
      name: v.optional(
        v.pipe(v.string(), v.description("Output file")),
        "out.txt",
      ),
      fail: v.optional(v.boolean(), false),
      delayMs: v.optional(v.number(), 0),
    }),
    inputs: {
      image: { kind: "image", dtype: "f32", description: "Image" },
      mask: { kind: "image", optional: true, description: "Mask" },
    },
    outputs: { files: { kind: "files", description: "Written files" } },
    outputParams: ["name"],
    run: async (ctx, inputs, params) => {
      const image = inputs.image as ImagePort;
      const name = params.name as string;
      await ctx.writeOutput(name, async (tmp) => {
        await Deno.writeTextFile(tmp, String((await image.readRows(0, 1))[0]));
        await new Promise((r) => setTimeout(r, params.delayMs as number));
        if (params.fail) throw new Error("write_png failed on purpose");
      });
      return { files: { kind: "files", files: [name] } };
    },
  };

  for (const stage of [source, tiles, model, blend, count, write]) {
    registry.register(stage as Stage);
  }
  return registry;
}

/** Writes files into a new temp folder and returns its path. */
export async function tempFiles(
  files: Record<string, string>,
): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "engine_test_" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, name, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, name), text);
  }
  return dir;
}

/** The quickstart-like pipeline used across tests. */
export const QUICKSTART = `description: fake quickstart
nodes:
  input:
    stage: read_volume
    with: {start: 0}
  tiles:
    stage: tile_crop
    from: input
    with: {tile: 4, stride: 4}
  maps:
    stage: model
    from: tiles
  blend:
    stage: blend
    from: {maps: maps, mask: input.mask}
  png:
    stage: write_png
    from: blend
`;

/** Runs `fn` and returns the UserError it throws (fails otherwise). */
export function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (e) {
    if (e instanceof UserError) return e;
    throw e;
  }
  throw new Error("expected a UserError");
}
