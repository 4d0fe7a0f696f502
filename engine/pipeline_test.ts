import { deepEqual, equal } from "node:assert/strict";
import { join } from "node:path";
import { fakeRegistry, tempFiles, userErrorOf } from "./_testing.ts";
import { applySets, loadPipeline, parseSet } from "./pipeline.ts";
import { validate } from "./validate.ts";

const BASE = `description: base
nodes:
  input:
    stage: read_volume
    with:
      start: 2
      normalize: u16
  tiles:
    stage: tile_crop
    from: input
    with:
      tile: 4
      stride: 2
  count:
    stage: count
    from: tiles
`;

Deno.test("extends inherits nodes and the child overrides field by field", async (t) => {
  const dir = await tempFiles({
    "base.yaml": BASE,
    "sub/child.yaml": `extends: ../base.yaml
nodes:
  tiles:
    with:
      stride: 4
  extra:
    stage: count
    from: tiles
    with: {name: extra.txt}
`,
  });
  const spec = loadPipeline(join(dir, "sub/child.yaml"));

  await t.step("nodes in file order, base first", () => {
    deepEqual([...spec.nodes.keys()], ["input", "tiles", "count", "extra"]);
    deepEqual(spec.files, [
      join(dir, "sub/child.yaml"),
      join(dir, "base.yaml"),
    ]);
    equal(spec.description, "base");
    equal(spec.dir, join(dir, "sub"));
  });

  await t.step("with merges key by key, child wins", () => {
    const tiles = spec.nodes.get("tiles")!;
    equal(tiles.stage?.value, "tile_crop");
    deepEqual(
      Object.fromEntries([...tiles.with].map(([k, v]) => [k, v.value])),
      {
        tile: 4,
        stride: 4,
      },
    );
  });

  await t.step("each field keeps the file and line it was written on", () => {
    const tiles = spec.nodes.get("tiles")!;
    deepEqual(
      [tiles.with.get("tile")!.loc, tiles.with.get("stride")!.loc].map((
        l,
      ) => [l.file, l.line]),
      [[join(dir, "base.yaml"), 12], [join(dir, "sub/child.yaml"), 5]],
    );
    equal(tiles.stage!.loc.line, 9);
    equal(tiles.loc.file, join(dir, "sub/child.yaml"));
  });

  await t.step(
    "errors point at the file that wrote the bad value",
    async () => {
      const bad = await tempFiles({
        "base.yaml": BASE,
        "child.yaml": "extends: base.yaml\nnodes:\n  tiles:\n    with: {stride: 0}\n",
      });
      const err = userErrorOf(() =>
        validate(loadPipeline(join(bad, "child.yaml")), fakeRegistry())
      );
      equal(
        err.message,
        `${
          join(bad, "child.yaml")
        }:4: node "tiles": parameter "stride" must be an integer >= 1, got 0`,
      );
      const inBase = await tempFiles({
        "base.yaml": BASE.replace("normalize: u16", "normalize: u12"),
        "child.yaml": "extends: base.yaml\ndescription: child\n",
      });
      const err2 = userErrorOf(() =>
        validate(loadPipeline(join(inBase, "child.yaml")), fakeRegistry())
      );
      equal(
        err2.message,
        `${
          join(inBase, "base.yaml")
        }:7: node "input": parameter "normalize" must be one of "seed", "u16", "u8", "none", got "u12"`,
      );
    },
  );
});

Deno.test("extends chains, overrides description, and removes nodes", async () => {
  const dir = await tempFiles({
    "a.yaml": BASE,
    "b.yaml":
      "extends: a.yaml\ndescription: b\nnodes:\n  tiles: {stage: tile_crop, with: {tile: 8}}\n",
    "c.yaml": "extends: b.yaml\nnodes:\n  count: {remove: true}\n",
  });
  const spec = loadPipeline(join(dir, "c.yaml"));
  deepEqual([...spec.nodes.keys()], ["input", "tiles"]);
  equal(spec.description, "b");
  equal(spec.files.length, 3);
  equal(spec.nodes.get("tiles")!.with.get("tile")!.value, 8);
  equal(spec.nodes.get("tiles")!.from!.refs[0].ref, "input");
});

Deno.test("extends errors", async (t) => {
  await t.step("cycle", async () => {
    const dir = await tempFiles({
      "a.yaml": "extends: b.yaml\nnodes: {}\n",
      "b.yaml": "nodes: {}\nextends: a.yaml\n",
    });
    const err = userErrorOf(() => loadPipeline(join(dir, "a.yaml")));
    equal(
      err.message,
      `${join(dir, "b.yaml")}:2: extends cycle: ${join(dir, "a.yaml")} -> ${
        join(dir, "b.yaml")
      } -> ${join(dir, "a.yaml")}`,
    );
  });
  await t.step("missing base", async () => {
    const dir = await tempFiles({ "a.yaml": "extends: nope.yaml\n" });
    const err = userErrorOf(() => loadPipeline(join(dir, "a.yaml")));
    equal(
      err.message,
      `${join(dir, "a.yaml")}:1: extends "nope.yaml" but "${
        join(dir, "nope.yaml")
      }" does not exist`,
    );
  });
  await t.step("removing a node that is not inherited", async () => {
    const dir = await tempFiles({ "a.yaml": "nodes:\n  x: {remove: true}\n" });
    const err = userErrorOf(() => loadPipeline(join(dir, "a.yaml")));
    equal(
      err.message,
      `${join(dir, "a.yaml")}:2: node "x": "remove" but no inherited node "x"`,
    );
  });
  await t.step("missing pipeline file", () => {
    const err = userErrorOf(() => loadPipeline("no/such.yaml"));
    equal(err.message, 'Pipeline file "no/such.yaml" not found');
  });
});

Deno.test("parseSet reads VALUE as YAML", async (t) => {
  const cases: [string, unknown][] = [
    ["tiles.tile=128", 128],
    ["input.path=/x/y", "/x/y"],
    ["a.list=[1,2]", [1, 2]],
    ["a.flag=true", true],
    ["a.name=", ""],
    ["a.expr=x=y", "x=y"],
    ["a.text='128'", "128"],
  ];
  for (const [raw, value] of cases) {
    await t.step(raw, () => {
      const set = parseSet(raw);
      deepEqual([set.node, set.param, set.value], [
        raw.split(".")[0],
        raw.split(/[.=]/)[1],
        value,
      ]);
    });
  }
  await t.step("malformed", () => {
    equal(
      userErrorOf(() => parseSet("tiles=3")).message,
      '--set "tiles=3": expected NODE.PARAM=VALUE',
    );
    equal(
      userErrorOf(() => parseSet("a.b=[1,")).message,
      '--set "a.b=[1,": cannot read the value: Flow sequence must end with a ]',
    );
  });
});

Deno.test("a child that swaps a node's stage starts from that stage's own parameters", async () => {
  const dir = await tempFiles({
    "base.yaml": BASE,
    "child.yaml": `extends: base.yaml
nodes:
  input:
    stage: synthetic_fragment
    with: {height: 64}
  tiles:
    stage: tile_crop
    with: {batch: 2}
`,
  });
  const spec = loadPipeline(join(dir, "child.yaml"));
  const params = (id: string) =>
    Object.fromEntries([...spec.nodes.get(id)!.with].map(([k, v]) => [k, v.value]));
  deepEqual(params("input"), { height: 64 });
  deepEqual(params("tiles"), { tile: 4, stride: 2, batch: 2 }, "same stage: merged");
});

Deno.test("--set '*.param=value' sets every node that has the parameter", async () => {
  const dir = await tempFiles({ "p.yaml": BASE });
  const spec = loadPipeline(join(dir, "p.yaml"));
  applySets(spec, [parseSet("*.stride=6")]);
  equal(spec.nodes.get("tiles")!.with.get("stride")!.value, 6);
  equal(spec.nodes.get("input")!.with.has("stride"), false);
  let message = "";
  try {
    applySets(spec, [parseSet("*.nothing=1")]);
  } catch (e) {
    message = (e as Error).message;
  }
  equal(message, `--set "*.nothing=1": no node sets parameter "nothing"`);
});
