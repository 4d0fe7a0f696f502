import { deepEqual } from "node:assert/strict";
import { join } from "node:path";
import { UserError } from "../data/errors.ts";
import { fakeRegistry, QUICKSTART, tempFiles, userErrorOf } from "./_testing.ts";
import { applySets, loadPipeline, parseSet } from "./pipeline.ts";
import { formatPlan, validate } from "./validate.ts";

const registry = fakeRegistry();
const STAGES = "blend, count, model, read_volume, tile_crop, write_png";

/** Validates `main.yaml` (plus other files) and returns the error message. */
async function errorOf(
  files: Record<string, string>,
  sets: string[] = [],
): Promise<string> {
  const dir = await tempFiles(files);
  const file = join(dir, "main.yaml");
  try {
    const spec = loadPipeline(file);
    applySets(spec, sets.map(parseSet));
    validate(spec, registry);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    return e.message.replaceAll(dir, "DIR");
  }
  throw new Error("expected a UserError");
}

/** A pipeline with `body` as the nodes section. */
const nodes = (body: string) => `nodes:\n${body}`;

Deno.test("validate reports each problem with file, line and node", async (t) => {
  const cases: [string, Record<string, string>, string][] = [
    [
      "yaml syntax error",
      { "main.yaml": "nodes:\n  a: b: c\n" },
      "DIR/main.yaml:2: Nested mappings are not allowed in compact mappings",
    ],
    [
      "duplicate node id",
      { "main.yaml": "nodes:\n  a: {stage: model}\n  a: {stage: model}\n" },
      "DIR/main.yaml:3: Map keys must be unique",
    ],
    [
      "unknown top-level key",
      { "main.yaml": "description: x\nnode:\n  a: {}\n" },
      'DIR/main.yaml:2: unknown key "node" (valid: description, extends, nodes)',
    ],
    [
      "top level not a mapping",
      { "main.yaml": "- a\n" },
      'DIR/main.yaml:1: a pipeline must be a mapping with "nodes"',
    ],
    [
      "missing nodes",
      { "main.yaml": "description: x\n" },
      'DIR/main.yaml:1: missing "nodes"',
    ],
    [
      "node not a mapping",
      { "main.yaml": nodes("  input: read_volume\n") },
      'DIR/main.yaml:2: node "input": must be a mapping with "stage", "from" and "with"',
    ],
    [
      "unknown node key",
      { "main.yaml": nodes("  input:\n    stage: read_volume\n    wth: {}\n") },
      'DIR/main.yaml:4: node "input": unknown key "wth" (valid: stage, from, with, remove)',
    ],
    [
      "bad node id",
      { "main.yaml": nodes("  in.put: {stage: read_volume}\n") },
      'DIR/main.yaml:2: node "in.put": node ids may use only letters, digits, "_" and "-"',
    ],
    [
      "missing stage",
      { "main.yaml": nodes("  input:\n    with: {start: 1}\n") },
      `DIR/main.yaml:2: node "input": missing "stage" (valid: ${STAGES})`,
    ],
    [
      "unknown stage",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crp\n",
        ),
      },
      `DIR/main.yaml:4: node "tiles": unknown stage "tile_crp" (valid: ${STAGES})`,
    ],
    [
      "unknown parameter",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crop\n    from: input\n    with:\n      tile: 4\n      strid: 4\n",
        ),
      },
      'DIR/main.yaml:8: node "tiles": unknown parameter "strid" for stage "tile_crop" (valid: tile, stride, batches, failAt)',
    ],
    [
      "integer below its minimum",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crop\n    from: input\n    with: {stride: -3}\n",
        ),
      },
      'DIR/main.yaml:6: node "tiles": parameter "stride" must be an integer >= 1, got -3',
    ],
    [
      "integer out of range",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crop\n    from: input\n    with: {tile: 5000}\n",
        ),
      },
      'DIR/main.yaml:6: node "tiles": parameter "tile" must be an integer from 1 to 4096, got 5000',
    ],
    [
      "wrong type",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crop\n    from: input\n    with: {tile: big}\n",
        ),
      },
      'DIR/main.yaml:6: node "tiles": parameter "tile" must be an integer from 1 to 4096, got "big"',
    ],
    [
      "picklist",
      {
        "main.yaml": nodes(
          "  input:\n    stage: read_volume\n    with:\n      normalize: x\n",
        ),
      },
      'DIR/main.yaml:5: node "input": parameter "normalize" must be one of "seed", "u16", "u8", "none", got "x"',
    ],
    [
      "missing upstream node",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles:\n    stage: tile_crop\n    from: inptu\n",
        ),
      },
      'DIR/main.yaml:5: node "tiles": from "inptu" names no node (nodes: input, tiles)',
    ],
    [
      "unknown output port",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles: {stage: tile_crop, from: input}\n  maps: {stage: model, from: tiles}\n  blend:\n    stage: blend\n    from:\n      maps: maps\n      mask: input.maks\n",
        ),
      },
      'DIR/main.yaml:9: node "blend": node "input" has no output "maks" (outputs: volume, mask, labels)',
    ],
    [
      "unknown input port",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles: {stage: tile_crop, from: input}\n  maps: {stage: model, from: tiles}\n  blend:\n    stage: blend\n    from:\n      map: maps\n",
        ),
      },
      'DIR/main.yaml:8: node "blend": stage "blend" has no input "map" (inputs: maps, mask)',
    ],
    [
      "from into a stage without inputs",
      {
        "main.yaml": nodes(
          "  a: {stage: read_volume}\n  b:\n    stage: read_volume\n    from: a\n",
        ),
      },
      'DIR/main.yaml:5: node "b": stage "read_volume" takes no inputs',
    ],
    [
      "required input not connected",
      { "main.yaml": nodes("  tiles:\n    stage: tile_crop\n") },
      'DIR/main.yaml:3: node "tiles": input "volume" of stage "tile_crop" is not connected',
    ],
    [
      "port kind mismatch",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  tiles: {stage: tile_crop, from: input}\n  maps: {stage: model, from: tiles}\n  blend: {stage: blend, from: maps}\n  again:\n    stage: model\n    from: blend\n",
        ),
      },
      'DIR/main.yaml:8: node "again": input "tiles" wants tiles but "blend" gives image',
    ],
    [
      "port dtype mismatch",
      {
        "main.yaml": nodes(
          "  input: {stage: read_volume}\n  png:\n    stage: write_png\n    from: input.mask\n",
        ),
      },
      'DIR/main.yaml:5: node "png": input "image" wants image (f32) but "input.mask" gives image (u8)',
    ],
    [
      "absolute output path",
      {
        "main.yaml": QUICKSTART.replace(
          "from: blend",
          "from: blend\n    with: {name: /etc/x}",
        ),
      },
      'DIR/main.yaml:19: node "png": parameter "name" must be a path inside the output folder, got "/etc/x"',
    ],
    [
      "output path escaping the output folder",
      {
        "main.yaml": QUICKSTART.replace(
          "from: blend",
          "from: blend\n    with: {name: a/../../x}",
        ),
      },
      'DIR/main.yaml:19: node "png": parameter "name" must be a path inside the output folder, got "a/../../x"',
    ],
  ];
  for (const [name, files, message] of cases) {
    await t.step(name, async () => deepEqual(await errorOf(files), message));
  }
});

Deno.test("validate reports a missing input path with the resolved path", async () => {
  const dir = await tempFiles({
    "p/main.yaml": nodes(
      "  input:\n    stage: read_volume\n    with: {path: ../nowhere}\n",
    ),
  });
  const file = join(dir, "p/main.yaml");
  const err = userErrorOf(() => validate(loadPipeline(file), registry));
  deepEqual(
    err.message,
    `${file}:4: node "input": parameter "path" is "../nowhere" but "${
      join(dir, "nowhere")
    }" does not exist`,
  );
  await Deno.mkdir(join(dir, "nowhere"));
  const plan = validate(loadPipeline(file), registry);
  deepEqual(plan.nodes[0].params.path, join(dir, "nowhere"));
});

Deno.test("validate names the nodes of a cycle in data-flow order", async () => {
  // model -> model chains have matching kinds only through a passthrough stage.
  const cyclic = fakeRegistry();
  const model = cyclic.get("model")!;
  cyclic.register({
    ...model,
    name: "loop",
    inputs: { maps: { kind: "maps", description: "" } },
  });
  const message = await (async () => {
    const dir = await tempFiles({
      "main.yaml": nodes(
        "  a:\n    stage: loop\n    from: c\n  b:\n    stage: loop\n    from: a\n  c:\n    stage: loop\n    from: b\n  d:\n    stage: loop\n    from: c\n",
      ),
    });
    const file = join(dir, "main.yaml");
    const err = userErrorOf(() => validate(loadPipeline(file), cyclic));
    return err.message.replace(dir, "DIR");
  })();
  deepEqual(message, "DIR/main.yaml:4: cycle: a -> b -> c -> a");
});

Deno.test("validate fills defaults and orders nodes topologically, stable in file order", async () => {
  const dir = await tempFiles({
    "main.yaml": nodes(
      [
        "  png: {stage: write_png, from: blend}",
        "  blend: {stage: blend, from: {maps: maps, mask: input.mask}}",
        "  count: {stage: count, from: tiles}",
        "  input: {stage: read_volume}",
        "  maps: {stage: model, from: tiles}",
        "  tiles: {stage: tile_crop, from: input}",
        "",
      ].join("\n"),
    ),
  });
  const plan = validate(loadPipeline(join(dir, "main.yaml")), registry);
  deepEqual(plan.nodes.map((n) => n.id), [
    "input",
    "tiles",
    "count",
    "maps",
    "blend",
    "png",
  ]);
  const tiles = plan.nodes[1];
  deepEqual(tiles.params, { tile: 256, stride: 64, batches: 3, failAt: -1 });
  deepEqual(tiles.inputs, { volume: { node: "input", port: "volume" } });
  deepEqual(plan.nodes[4].inputs, {
    maps: { node: "maps", port: "maps" },
    mask: { node: "input", port: "mask" },
  });
  const lines = formatPlan(plan);
  deepEqual(lines[0], `plan: ${join(dir, "main.yaml")}, 6 nodes`);
  deepEqual(
    lines[2],
    "   2. tiles  tile_crop@2 volume<-input.volume tile=256 stride=64 batches=3 failAt=-1",
  );
});

Deno.test("--set overrides are validated with their own location", async (t) => {
  const files = { "main.yaml": QUICKSTART };
  await t.step("unknown node", async () => {
    deepEqual(
      await errorOf(files, ["tilez.tile=8"]),
      '--set "tilez.tile=8": no node "tilez" (nodes: input, tiles, maps, blend, png)',
    );
  });
  await t.step("unknown parameter", async () => {
    deepEqual(
      await errorOf(files, ["tiles.strid=8"]),
      '--set "tiles.strid=8": node "tiles": unknown parameter "strid" for stage "tile_crop" (valid: tile, stride, batches, failAt)',
    );
  });
  await t.step("ill-typed value", async () => {
    deepEqual(
      await errorOf(files, ["tiles.stride=-3"]),
      '--set "tiles.stride=-3": node "tiles": parameter "stride" must be an integer >= 1, got -3',
    );
  });
  await t.step("applied value wins over the file", async () => {
    const dir = await tempFiles(files);
    const spec = loadPipeline(join(dir, "main.yaml"));
    applySets(spec, [parseSet("tiles.tile=8")]);
    const plan = validate(spec, registry);
    deepEqual(plan.nodes[1].params.tile, 8);
    deepEqual(spec.overrides, ["tiles.tile=8"]);
  });
  await t.step(
    "relative paths resolve against the current folder",
    async () => {
      const dir = await tempFiles(files);
      const spec = loadPipeline(join(dir, "main.yaml"));
      applySets(spec, [parseSet("input.path=engine")]);
      const plan = validate(spec, registry);
      deepEqual(plan.nodes[0].params.path, join(Deno.cwd(), "engine"));
    },
  );
});
