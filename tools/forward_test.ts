import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { readNpy } from "../data/npy.ts";
import { compareArrays } from "../kernels/compare.ts";
import { main } from "./forward.ts";

const FIX = fileURLToPath(new URL("../tests/fixtures/networks/", import.meta.url));

Deno.test("forward runs a PyTorch checkpoint on a .npy tile and writes PyTorch's logits", async () => {
  const fixture = JSON.parse(await Deno.readTextFile(`${FIX}cnn3d_more_filters_tiny.json`));
  const { num_encoder_blocks: _, hidden_act: __, reshape_last_stage: ___, ...segformer } =
    fixture.segformer;
  const out = await Deno.makeTempFile({ suffix: ".npy" });
  const lines: string[] = [];
  const code = await main([
    "--checkpoint",
    `${FIX}cnn3d_more_filters_tiny.pth`,
    "--family",
    "cnn3d_more_filters",
    "--segformer",
    JSON.stringify(segformer),
    "--input",
    `${FIX}input.npy`,
    "--out",
    out,
  ], (s) => lines.push(s));
  assert.equal(code, 0, lines.join("\n"));
  const got = await readNpy(out, { dtype: "f32" });
  const want = await readNpy(`${FIX}cnn3d_more_filters_tiny.out.npy`, { dtype: "f32" });
  assert.deepEqual(got.shape, want.shape);
  assert.ok(compareArrays(got.data, want.data).relL2 <= 1e-4);
  assert.match(lines[0], /cnn3d_more_filters: \(2, 1, 16, 64, 64\) -> \(2, 1, 64, 64\)/);
});

Deno.test("forward reports bad arguments and mismatched checkpoints in one line", async () => {
  const lines: string[] = [];
  assert.equal(await main(["--family", "cnn3d"], (s) => lines.push(s)), 2);
  assert.equal(lines.pop(), "error: missing --checkpoint, --input, --out (see --help)");
  const code = await main([
    "--checkpoint",
    `${FIX}unet3d_tiny.pth`,
    "--family",
    "cnn3d",
    "--segformer",
    "mit-b0",
    "--input",
    `${FIX}input.npy`,
    "--out",
    "/tmp/never.npy",
  ], (s) => lines.push(s));
  assert.equal(code, 1);
  assert.match(
    lines.pop()!,
    /^error: Checkpoint ".*unet3d_tiny\.pth" does not match cnn3d: \d+ missing \(conv3d_1\.weight/,
  );
  assert.equal(await Deno.stat("/tmp/never.npy").then(() => true, () => false), false);
});
