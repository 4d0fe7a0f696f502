/**
 * pipelines/winning.yaml declares the seed's nine members exactly (seed-spec
 * section 5) and, without weights, stops before any compute with one error
 * listing every missing file and where the seed published them.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { applySets, loadPipeline, parseSet } from "../engine/pipeline.ts";
import { validate } from "../engine/validate.ts";
import { registry } from "../stages/mod.ts";

const FILE = fileURLToPath(new URL("../pipelines/winning.yaml", import.meta.url));

// family, tile, inference batch, weight file, SegFormer: the notebook's model_tuples.
const SEED: [string, number, number, string, string][] = [
  ["unet3d", 1024, 1, "3d_unet_segformer_1024_3d_unet_segformer_final_all_train.pth", "mit-b3"],
  ["unet3d", 512, 4, "3d_unet_segformer_512_3d_unet_segformer_final.pth", "mit-b3"],
  [
    "unet3d",
    1024,
    1,
    "3dunet_segformer_1024_swa_slow_all_train_3dunet_segformer_final.pth",
    "mit-b3",
  ],
  ["cnn3d", 1024, 3, "3dcnn_segformer_all_train_swa_3dcnn_segformer_final_swa.pth", "mit-b3"],
  ["cnn3d", 1024, 2, "b5_long_train_all_frags_3dcnn_segformer_b5_final_swa.pth", "mit-b5"],
  [
    "cnn3d_more_filters",
    1024,
    2,
    "b3_more_fmaps_all_train_3dcnn_segformerb364_final_swa.pth",
    "mit-b3",
  ],
  ["unet3d_jumbo", 1024, 1, "Jumbo_Unet_Jumbo_Unet_69_final_swa_all_train.pth", "mit-b5"],
  ["unetr", 512, 8, "jumbo_unetr_unetr_888_final_swa_all_train_long.pth", "mit-b5"],
  [
    "unetr_mc",
    512,
    8,
    "unetr_multiclass_NOVALIDATION_512_b5_unet_final_swa_all_train.pth",
    "mit-b5",
  ],
];

Deno.test("winning.yaml declares the seed's nine members", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-winning-" });
  const sets = [`input.path=${dir}`, `*.weights_dir=${dir}`];
  for (const [, , , file] of SEED) await Deno.writeFile(`${dir}/${file}`, new Uint8Array());
  const spec = loadPipeline(FILE);
  applySets(spec, sets.map(parseSet));
  const plan = validate(spec, registry);
  const node = (id: string) => plan.nodes.find((n) => n.id === id)!;
  SEED.forEach(([family, tile, batch, file, segformer], i) => {
    const n = i + 1;
    assert.deepEqual(node(`tiles${n}`).params, {
      tile,
      stride: tile / 4,
      batch,
      padding: "seed",
      keep: "nonzero",
      min_mask_coverage: 0,
    });
    assert.equal(node(`tta${n}`).params.mode, "rot90");
    const net = node(`net${n}`).params;
    assert.deepEqual([net.family, net.segformer, net.weights], [
      family,
      segformer,
      `${dir}/${file}`,
    ]);
    assert.equal(node("probabilities").inputs[`m${n}`].node, `member${n}`);
  });
  assert.deepEqual(node("input").params, {
    path: dir,
    start: 24,
    count: 16,
    reverse: false,
    normalize: "seed",
  });
  assert.deepEqual(node("binary").params, {
    threshold: 0.5,
    min_size: 10000,
    hole_size: 0,
    use_mask: true,
  });
});

Deno.test("without weights, one error lists every missing file and where they were published", () => {
  const dir = Deno.makeTempDirSync();
  const spec = loadPipeline(FILE);
  applySets(spec, [parseSet(`input.path=${dir}`)]);
  assert.throws(() => validate(spec, registry), (e: Error) => {
    assert.match(e.message, /winning\.yaml:\d+: 9 input files are missing \(net1: /);
    for (const [, , , file] of SEED) assert.ok(e.message.includes(file), file);
    assert.match(e.message, /Kaggle dataset ryches\/unet3d/);
    assert.ok(!e.message.includes("\n"));
    return true;
  });
});

Deno.test("single.yaml runs one seed member; single-synthetic.yaml swaps its input stage", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-single-" });
  const weights = "3dcnn_segformer_all_train_swa_3dcnn_segformer_final_swa.pth";
  await Deno.writeFile(`${dir}/${weights}`, new Uint8Array());
  const plan = (name: string, sets: string[]) => {
    const spec = loadPipeline(fileURLToPath(new URL(`../pipelines/${name}`, import.meta.url)));
    applySets(spec, sets.map(parseSet));
    return validate(spec, registry);
  };
  const single = plan("single.yaml", [`input.path=${dir}`, `net.weights_dir=${dir}`]);
  const net = single.nodes.find((n) => n.id === "net")!;
  assert.equal(net.params.family, "cnn3d");
  assert.equal(net.params.weights, `${dir}/${weights}`);
  const swapped = plan("single-synthetic.yaml", [`net.weights_dir=${dir}`]);
  const input = swapped.nodes.find((n) => n.id === "input")!;
  assert.equal(input.stage.name, "synthetic_fragment");
  assert.equal(swapped.nodes.find((n) => n.id === "tiles")!.params.tile, 256);
  assert.ok(swapped.nodes.some((n) => n.id === "scores"));
});
