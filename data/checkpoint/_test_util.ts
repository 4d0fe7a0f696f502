/**
 * Helpers for the checkpoint tests: the fixtures, Python with torch when
 * there is one, and the seed's key sets (seed spec §2, §6) built from the
 * architecture tables.
 *
 * @module
 */

import type { SeedFamily, SegformerVariant } from "./family.ts";

/** The fixture folder (written by fixtures/gen_checkpoints.py). */
export const TESTDATA = new URL("./testdata/", import.meta.url).pathname;

/** The dump script: prints a checkpoint as testdata/expected.json's tensors. */
export const DUMP = new URL("./fixtures/dump_checkpoint.py", import.meta.url).pathname;

/** One tensor of testdata/expected.json; i64 values are strings. */
export interface Expected {
  dtype: string;
  shape: number[];
  values: (number | string)[];
}

/** The tensors of small.pth, in file order. */
export async function expectedTensors(): Promise<Record<string, Expected>> {
  return JSON.parse(await Deno.readTextFile(`${TESTDATA}expected.json`)).tensors;
}

/** A Python that imports torch, or undefined (CI has none: those tests are skipped). */
export async function findTorchPython(): Promise<string | undefined> {
  for (const cmd of ["/usr/bin/python3", "python3"]) {
    try {
      const check = new Deno.Command(cmd, {
        args: ["-c", "import torch"],
        stdout: "null",
        stderr: "null",
      });
      if ((await check.output()).success) return cmd;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** Runs the dump script on `path` with `python` and returns its JSON. */
export async function dumpWithTorch(
  python: string,
  path: string,
): Promise<Record<string, Expected>> {
  const { success, stdout, stderr } = await new Deno.Command(python, {
    args: [DUMP, path],
  }).output();
  if (!success) throw new Error(new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

type Keys = Map<string, number[]>;

const MIT: Record<SegformerVariant, { hidden: number[]; depths: number[]; decoder: number }> = {
  b0: { hidden: [32, 64, 160, 256], depths: [2, 2, 2, 2], decoder: 256 },
  b1: { hidden: [64, 128, 320, 512], depths: [2, 2, 2, 2], decoder: 256 },
  b2: { hidden: [64, 128, 320, 512], depths: [3, 4, 6, 3], decoder: 768 },
  b3: { hidden: [64, 128, 320, 512], depths: [3, 4, 18, 3], decoder: 768 },
  b4: { hidden: [64, 128, 320, 512], depths: [3, 8, 27, 3], decoder: 768 },
  b5: { hidden: [64, 128, 320, 512], depths: [3, 6, 40, 3], decoder: 768 },
};

/** HF SegformerForSemanticSegmentation keys under `prefix` (seed spec §2.1, §6). */
export function segformerKeys(
  prefix: string,
  variant: SegformerVariant,
  channels: number,
  labels: number,
): Keys {
  const { hidden, depths, decoder } = MIT[variant];
  const keys: Keys = new Map();
  const add = (key: string, shape: number[]) => keys.set(prefix + key, shape);
  const affine = (key: string, n: number) => {
    add(`${key}.weight`, [n]);
    add(`${key}.bias`, [n]);
  };
  const linear = (key: string, out: number, inp: number) => {
    add(`${key}.weight`, [out, inp]);
    add(`${key}.bias`, [out]);
  };
  hidden.forEach((h, i) => {
    const e = "segformer.encoder.";
    const k = i ? 3 : 7;
    add(`${e}patch_embeddings.${i}.proj.weight`, [h, i ? hidden[i - 1] : channels, k, k]);
    add(`${e}patch_embeddings.${i}.proj.bias`, [h]);
    affine(`${e}patch_embeddings.${i}.layer_norm`, h);
    const sr = [8, 4, 2, 1][i];
    for (let j = 0; j < depths[i]; j++) {
      const b = `${e}block.${i}.${j}.`;
      affine(`${b}layer_norm_1`, h);
      for (const qkv of ["query", "key", "value"]) linear(`${b}attention.self.${qkv}`, h, h);
      if (sr > 1) {
        add(`${b}attention.self.sr.weight`, [h, h, sr, sr]);
        add(`${b}attention.self.sr.bias`, [h]);
        affine(`${b}attention.self.layer_norm`, h);
      }
      linear(`${b}attention.output.dense`, h, h);
      affine(`${b}layer_norm_2`, h);
      linear(`${b}mlp.dense1`, 4 * h, h);
      add(`${b}mlp.dwconv.dwconv.weight`, [4 * h, 1, 3, 3]);
      add(`${b}mlp.dwconv.dwconv.bias`, [4 * h]);
      linear(`${b}mlp.dense2`, h, 4 * h);
    }
    affine(`${e}layer_norm.${i}`, h);
  });
  hidden.forEach((h, i) => linear(`decode_head.linear_c.${i}.proj`, decoder, h));
  add("decode_head.linear_fuse.weight", [decoder, 4 * decoder, 1, 1]);
  affine("decode_head.batch_norm", decoder);
  add("decode_head.batch_norm.running_mean", [decoder]);
  add("decode_head.batch_norm.running_var", [decoder]);
  add("decode_head.batch_norm.num_batches_tracked", []);
  add("decode_head.classifier.weight", [labels, decoder, 1, 1]);
  add("decode_head.classifier.bias", [labels]);
  return keys;
}

/** The 3D part's keys of a seed family (seed spec §2.2 to §2.5, §6). */
function encoderKeys(family: Exclude<SeedFamily, "segformer">): Keys {
  const keys: Keys = new Map();
  const conv = (key: string, shape: number[]) => keys.set(`${key}.weight`, shape);
  const k3 = (out: number, inp: number) => [out, inp, 3, 3, 3];
  const k2 = (inp: number, out: number) => [inp, out, 2, 2, 2];
  const k1 = (out: number, inp: number) => [out, inp, 1, 1, 1];
  if (family === "cnn3d" || family === "cnn3d_more_filters") {
    const channels = [1, 4, 8, 16, family === "cnn3d" ? 32 : 64];
    for (let i = 1; i <= 4; i++) {
      conv(`conv3d_${i}`, k3(channels[i], channels[i - 1]));
      keys.set(`conv3d_${i}.bias`, [channels[i]]);
    }
  } else if (family === "unet3d" || family === "unet3d_jumbo") {
    const single = (key: string, inp: number, out: number) => {
      keys.set(`${key}.groupnorm.weight`, [inp]);
      keys.set(`${key}.groupnorm.bias`, [inp]);
      conv(`${key}.conv`, k3(out, inp));
    };
    const blocks: [string, number, number, number][] = [
      ["encoders.0", 1, 4, 8],
      ["encoders.1", 8, 8, 16],
      ["encoders.2", 16, 16, 32],
      ["encoders.3", 32, 32, 64],
      ["decoders.0", 96, 32, 32],
      ["decoders.1", 48, 16, 16],
      ["decoders.2", 24, 8, 8],
    ];
    for (const [block, inp, mid, out] of blocks) {
      single(`model.${block}.basic_module.SingleConv1`, inp, mid);
      single(`model.${block}.basic_module.SingleConv2`, mid, out);
    }
    const out = family === "unet3d" ? 16 : 32;
    conv("model.final_conv", k1(out, 8));
    keys.set("model.final_conv.bias", [out]);
  } else {
    const e = "encoder.";
    const res = (key: string, inp: number, out: number) => {
      conv(`${key}.conv1.conv`, k3(out, inp));
      conv(`${key}.conv2.conv`, k3(out, out));
      if (inp !== out) conv(`${key}.conv3.conv`, k1(out, inp));
    };
    keys.set(`${e}vit.patch_embedding.position_embeddings`, [1, 1024, 768]);
    keys.set(`${e}vit.patch_embedding.patch_embeddings.1.weight`, [768, 4096]);
    keys.set(`${e}vit.patch_embedding.patch_embeddings.1.bias`, [768]);
    for (let i = 0; i < 12; i++) {
      const b = `${e}vit.blocks.${i}.`;
      for (const norm of ["norm1", "norm2"]) {
        keys.set(`${b}${norm}.weight`, [768]).set(`${b}${norm}.bias`, [768]);
      }
      keys.set(`${b}attn.qkv.weight`, [2304, 768]);
      keys.set(`${b}attn.out_proj.weight`, [768, 768]).set(`${b}attn.out_proj.bias`, [768]);
      keys.set(`${b}mlp.linear1.weight`, [3072, 768]).set(`${b}mlp.linear1.bias`, [3072]);
      keys.set(`${b}mlp.linear2.weight`, [768, 3072]).set(`${b}mlp.linear2.bias`, [768]);
    }
    keys.set(`${e}vit.norm.weight`, [768]).set(`${e}vit.norm.bias`, [768]);
    res(`${e}encoder1.layer`, 1, 16);
    for (const [n, ch, layers] of [[2, 32, 2], [3, 64, 1], [4, 128, 0]]) {
      conv(`${e}encoder${n}.transp_conv_init.conv`, k2(768, ch));
      for (let j = 0; j < layers; j++) {
        const b = `${e}encoder${n}.blocks.${j}`;
        if (family === "unetr") {
          conv(`${b}.0.conv`, k2(ch, ch));
          res(`${b}.1`, ch, ch);
        } else {
          conv(`${b}.conv`, k2(ch, ch));
        }
      }
    }
    for (const [n, inp, out] of [[5, 768, 128], [4, 128, 64], [3, 64, 32], [2, 32, 16]]) {
      conv(`${e}decoder${n}.transp_conv.conv`, k2(inp, out));
      res(`${e}decoder${n}.conv_block`, 2 * out, out);
    }
    conv(`${e}out.conv.conv`, k1(32, 16));
    keys.set(`${e}out.conv.conv.bias`, [32]);
  }
  return keys;
}

/**
 * All keys and shapes of a seed ensemble checkpoint (unprefixed), with the
 * family's SegFormer (cnn3d, more_filters and unet3d: b3; the others: b5,
 * or `variant`).
 */
export function seedKeys(
  family: Exclude<SeedFamily, "segformer">,
  variant?: SegformerVariant,
): Keys {
  const spec: Record<typeof family, [string, SegformerVariant, number, number]> = {
    cnn3d: ["xy_encoder_2d.", "b3", 32, 1],
    cnn3d_more_filters: ["xy_encoder_2d.", "b3", 64, 1],
    unet3d: ["encoder_2d.", "b3", 16, 1],
    unet3d_jumbo: ["encoder_2d.", "b5", 32, 1],
    unetr: ["encoder_2d.", "b5", 32, 1],
    unetr_mc: ["encoder_2d.", "b5", 32, 3],
  };
  const [prefix, mit, channels, labels] = spec[family];
  const keys = encoderKeys(family);
  for (const entry of segformerKeys(prefix, variant ?? mit, channels, labels)) keys.set(...entry);
  for (const i of [1, 2]) {
    keys.set(`upscaler${i}.weight`, [labels, labels, 4, 4]).set(`upscaler${i}.bias`, [labels]);
  }
  return keys;
}

/** A key -> {shape} map, as detectFamily takes. */
export function shapes(keys: Keys): Map<string, { shape: number[] }> {
  return new Map([...keys].map(([key, shape]) => [key, { shape }]));
}
