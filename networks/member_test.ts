/**
 * Golden tests: every family of the seed's ensemble, loaded from a `.pth`
 * that PyTorch saved (tests/fixtures/networks), run on the GPU and compared
 * with PyTorch's output: relative L2 error at most 1e-4 in float32.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { checkKeys, loadCheckpoint } from "../data/checkpoint/mod.ts";
import { readNpy } from "../data/npy.ts";
import { getGpu } from "../kernels/device.ts";
import { compareArrays } from "../kernels/compare.ts";
import { downloadTensor, uploadTensor } from "../kernels/tensor.ts";
import { memberConfig } from "./families.ts";
import { Member } from "./member.ts";
import { gpuOps } from "./gpu_ops.ts";
import { segformer } from "./segformer.ts";
import { type SegformerConfig, segformerConfig } from "./segformer_config.ts";
import { segformerSpec } from "./specs.ts";
import { Weights } from "./weights.ts";

const DIR = fileURLToPath(new URL("../tests/fixtures/networks/", import.meta.url));

const SEGFORMER_FIELDS = [
  "num_channels",
  "hidden_sizes",
  "depths",
  "num_attention_heads",
  "sr_ratios",
  "patch_sizes",
  "strides",
  "mlp_ratios",
  "decoder_hidden_size",
  "num_labels",
] as const;

interface Fixture {
  family: string;
  segformer: Record<string, unknown>;
  unetr: Record<string, unknown> | null;
}

/** The member config of a fixture, built through the same code as the seed's presets. */
function configOf(f: Fixture) {
  const segformer = Object.fromEntries(SEGFORMER_FIELDS.map((k) => [k, f.segformer[k]])) as Partial<
    SegformerConfig
  >;
  const unetr = f.unetr
    ? {
      img_size: f.unetr.img_size as [number, number, number],
      feature_size: f.unetr.feature_size as number,
      hidden_size: f.unetr.hidden_size as number,
      mlp_dim: f.unetr.mlp_dim as number,
      num_heads: f.unetr.num_heads as number,
      out_channels: f.unetr.out_channels as number,
    }
    : undefined;
  return memberConfig(f.family, { segformer, unetr });
}

async function checkCase(name: string, family: string, maxBinding?: number): Promise<void> {
  const fixture = {
    ...JSON.parse(await Deno.readTextFile(`${DIR}${name}.json`)),
    family,
  } as Fixture;
  const gpu = await getGpu();
  const saved = gpu.maxBinding;
  if (maxBinding) gpu.maxBinding = maxBinding;
  try {
    const member = await Member.load(
      gpu,
      configOf(fixture),
      await loadCheckpoint(`${DIR}${name}.pth`),
    );
    const input = await readNpy(`${DIR}input.npy`, { dtype: "f32" });
    const want = await readNpy(`${DIR}${name}.out.npy`, { dtype: "f32" });
    const x = uploadTensor(gpu, input.shape, "f32", input.data);
    const y = member.forward(x);
    assert.deepEqual([...y.shape], want.shape);
    const got = await downloadTensor(y) as Float32Array;
    const c = compareArrays(got, want.data, { atol: 1e-4, rtol: 1e-3 });
    if (Deno.env.get("SHOW")) console.log(`${name}: rel L2 ${c.relL2.toExponential(2)}`);
    assert.ok(
      c.relL2 <= 1e-4,
      `${name}: relative L2 error ${c.relL2.toExponential(2)} (max abs ${c.maxAbsError})`,
    );
    for (const t of [x, y]) t.release();
    member.release();
  } finally {
    gpu.maxBinding = saved;
  }
}

const CASES: Record<string, string> = {
  cnn3d_b0tiny: "cnn3d",
  cnn3d_more_filters_tiny: "cnn3d_more_filters",
  unet3d_tiny: "unet3d",
  unet3d_jumbo_tiny: "unet3d_jumbo",
  unetr_tiny: "unetr",
  unetr_mc_tiny: "unetr_mc",
};

for (const [name, family] of Object.entries(CASES)) {
  Deno.test(`${family} (${name}) matches PyTorch from the .pth to the upscaled logits`, () =>
    checkCase(name, family));
}

Deno.test("the last 3D conv runs by channel chunks with the depth max fused when its output is too big", async () => {
  // One (2, 1, 16, 64, 64) channel of the last conv is 512 KiB: a 2 MiB binding limit forces
  // chunks of 4 channels (and windows in every other kernel).
  await checkCase("cnn3d_b0tiny", "cnn3d", 2 * 1024 * 1024 + 256);
  await checkCase("unet3d_jumbo_tiny", "unet3d_jumbo", 2 * 1024 * 1024 + 256);
});

Deno.test("mit-b0 (real preset, float16 checkpoint) matches PyTorch's SegFormer logits", async () => {
  const gpu = await getGpu();
  const config = segformerConfig("mit-b0", { num_channels: 8, num_labels: 1 });
  const dict = await loadCheckpoint(`${DIR}segformer_b0.pth`);
  const spec = segformerSpec(config);
  checkKeys(dict, spec.shapes, "mit-b0");
  const weights = await Weights.upload(gpu, spec, (k) => dict.get(k)!);
  const input = await readNpy(`${DIR}segformer_b0.in.npy`, { dtype: "f32" });
  const want = await readNpy(`${DIR}segformer_b0.out.npy`, { dtype: "f32" });
  const x = uploadTensor(gpu, input.shape, "f32", input.data);
  const ops = gpuOps(gpu, gpu.kernels.recorder("b0"));
  const y = segformer(ops, config, weights, x);
  ops.rec.submit();
  assert.deepEqual([...y.shape], want.shape);
  const c = compareArrays(await downloadTensor(y) as Float32Array, want.data);
  if (Deno.env.get("SHOW")) console.log(`mit-b0: rel L2 ${c.relL2.toExponential(2)}`);
  assert.ok(c.relL2 <= 1e-4, `relative L2 error ${c.relL2.toExponential(2)}`);
  for (const t of [x, y]) t.release();
  weights.release();
});
