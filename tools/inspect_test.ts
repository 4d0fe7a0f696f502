import assert from "node:assert/strict";
import { StateDict, tensorFrom, writeSafetensors } from "../data/checkpoint/mod.ts";
import { main, USAGE } from "./inspect.ts";

const TESTDATA = new URL("../data/checkpoint/testdata/", import.meta.url).pathname;

/** Runs the tool and returns its exit code and output lines. */
async function inspect(...args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, {
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
  });
  return { code, stdout, stderr };
}

Deno.test("inspect prints the family, aligned keys and totals", async () => {
  const { code, stdout, stderr } = await inspect(`${TESTDATA}wrong_shapes.pth`);
  assert.deepEqual([code, stderr], [0, []]);
  assert.deepEqual(stdout, [
    "family: unknown",
    "key              dtype  shape",
    "conv3d_1.weight  f32    (8, 1, 3, 3, 3)",
    "conv3d_1.bias    f32    (4)",
    "conv3d_2.weight  f32    (8, 4, 3, 3, 3)",
    "conv3d_2.bias    f32    (8)",
    "conv3d_3.weight  f32    (16, 8, 3, 3, 3)",
    "conv3d_3.bias    f32    (16)",
    "foo              f32    (1)",
    "7 tensors, 4,565 parameters, 18,260 bytes",
  ]);
});

Deno.test("inspect names the family and its SegFormer", async () => {
  // Only the keys detectFamily looks at: a b0-sized SegFormer under a 3D stack.
  const keys: [string, number[]][] = [["conv3d_4.weight", [32, 16, 3, 3, 3]]];
  [32, 64, 160, 256].forEach((h, i) => {
    keys.push([`xy_encoder_2d.segformer.encoder.patch_embeddings.${i}.proj.weight`, [h, 32, 1, 1]]);
    for (const j of [0, 1]) keys.push([`xy_encoder_2d.segformer.encoder.block.${i}.${j}.x`, [1]]);
  });
  keys.push(["xy_encoder_2d.decode_head.classifier.weight", [1, 256, 1, 1]]);
  const dict = new StateDict(
    "",
    keys.map(([k, shape]) => [
      k,
      tensorFrom({ shape, data: new Float32Array(shape.reduce((a, b) => a * b)) }),
    ]),
  );
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  await writeSafetensors(path, dict);
  const { code, stdout } = await inspect(path);
  assert.equal(code, 0);
  assert.equal(
    stdout[0],
    `family: cnn3d (SegFormer b0 under "xy_encoder_2d.", 32 channels, 1 label)`,
  );

  const json = await inspect(path, "--json");
  const out = JSON.parse(json.stdout.join("\n"));
  assert.equal(out.file, path);
  assert.equal(out.family.family, "cnn3d");
  assert.deepEqual(out.family.segformer.hiddenSizes, [32, 64, 160, 256]);
  assert.deepEqual(out.tensors[0], {
    key: "conv3d_4.weight",
    dtype: "f32",
    shape: [32, 16, 3, 3, 3],
  });
  assert.equal(out.totals.tensors, keys.length);
  await Deno.remove(path);
});

Deno.test("inspect --json on a fixture", async () => {
  const { code, stdout } = await inspect("--json", `${TESTDATA}small.safetensors`);
  assert.equal(code, 0);
  const out = JSON.parse(stdout.join("\n"));
  assert.equal(out.family, null);
  assert.deepEqual(out.totals, { tensors: 21, parameters: 122, bytes: 480 });
  assert.deepEqual(out.tensors.find((t: { key: string }) => t.key === "bfloat"), {
    key: "bfloat",
    dtype: "bf16",
    shape: [3],
  });
});

Deno.test("inspect errors are one line", async () => {
  const evil = `${TESTDATA}evil_os_system.pth`;
  const cases: [string[], number, string][] = [
    [[evil], 1, `error: Checkpoint "${evil}" refers to "os.system", which is not allowed`],
    [[`${TESTDATA}nope.pth`], 1, `error: Cannot read "${TESTDATA}nope.pth": file not found`],
    [[], 2, "error: missing FILE (see --help)"],
    [["a", "b"], 2, "error: expected one file (see --help)"],
    [["--bogus", "a"], 2, `error: unknown option "--bogus" (see --help)`],
  ];
  for (const [args, want, message] of cases) {
    const { code, stdout, stderr } = await inspect(...args);
    assert.deepEqual([code, stdout, stderr.length], [want, [], 1], args.join(" "));
    assert.ok(stderr[0].startsWith(message), stderr[0]);
  }
  assert.deepEqual((await inspect("--help")).stdout, [USAGE]);
});

Deno.test("deno task inspect exits 1 with one line on stderr", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--allow-read", "tools/inspect.ts", `${TESTDATA}truncated.pth`],
    cwd: new URL("..", import.meta.url).pathname,
  }).output();
  assert.equal(code, 1);
  assert.equal(new TextDecoder().decode(stdout), "");
  assert.equal(
    new TextDecoder().decode(stderr),
    `error: Cannot read "${TESTDATA}truncated.pth": truncated zip file (no central directory)\n`,
  );
});
