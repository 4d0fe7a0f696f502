/**
 * The state-dict layouts of every network of the seed's ensemble, as
 * {@linkcode ParamSpec}s: keys and shapes exactly as PyTorch saves them
 * (seed-spec sections 2 and 6).
 *
 * @module
 */

import { ParamSpec } from "./params.ts";
import type { SegformerConfig } from "./segformer_config.ts";

/** HF `SegformerForSemanticSegmentation` keys (`segformer.encoder.…`, `decode_head.…`). */
export function segformerSpec(c: SegformerConfig): ParamSpec {
  const s = new ParamSpec();
  const e = "segformer.encoder";
  for (let i = 0; i < 4; i++) {
    const cin = i === 0 ? c.num_channels : c.hidden_sizes[i - 1];
    const h = c.hidden_sizes[i];
    const k = c.patch_sizes[i];
    s.layer(`${e}.patch_embeddings.${i}.proj`, [h, cin, k, k]);
    s.norm(`${e}.patch_embeddings.${i}.layer_norm`, h);
  }
  for (let i = 0; i < 4; i++) {
    const h = c.hidden_sizes[i];
    const sr = c.sr_ratios[i];
    const m = h * c.mlp_ratios[i];
    for (let j = 0; j < c.depths[i]; j++) {
      const b = `${e}.block.${i}.${j}`;
      s.norm(`${b}.layer_norm_1`, h);
      for (const q of ["query", "key", "value"]) s.layer(`${b}.attention.self.${q}`, [h, h]);
      if (sr > 1) {
        s.layer(`${b}.attention.self.sr`, [h, h, sr, sr]);
        s.norm(`${b}.attention.self.layer_norm`, h);
      }
      s.layer(`${b}.attention.output.dense`, [h, h]);
      s.norm(`${b}.layer_norm_2`, h);
      s.layer(`${b}.mlp.dense1`, [m, h]);
      s.layer(`${b}.mlp.dwconv.dwconv`, [m, 1, 3, 3]);
      s.layer(`${b}.mlp.dense2`, [h, m]);
    }
    s.norm(`${e}.layer_norm.${i}`, h);
  }
  const d = c.decoder_hidden_size;
  for (let i = 0; i < 4; i++) s.layer(`decode_head.linear_c.${i}.proj`, [d, c.hidden_sizes[i]]);
  s.layer("decode_head.linear_fuse", [d, 4 * d, 1, 1], false);
  s.norm("decode_head.batch_norm", d);
  s.add("decode_head.batch_norm.running_mean", [d]);
  s.add("decode_head.batch_norm.running_var", [d]);
  s.add("decode_head.batch_norm.num_batches_tracked", []);
  s.layer("decode_head.classifier", [c.num_labels, d, 1, 1]);
  return s;
}

/** The seed's two learned upscalers, `ConvTranspose2d(L, L, 4, 2, 1)`. */
export function upscalerSpec(labels: number): ParamSpec {
  return new ParamSpec()
    .layer("upscaler1", [labels, labels, 4, 4], true, labels)
    .layer("upscaler2", [labels, labels, 4, 4], true, labels);
}

/** `CNN3D_Segformer`'s 3D stack: four 3x3x3 convs 1 -> 4 -> 8 -> 16 -> `out` (32, or 64 for more_filters). */
export function cnn3dSpec(out: number): ParamSpec {
  const s = new ParamSpec();
  [1, 4, 8, 16].forEach((cin, i) => {
    const cout = i === 3 ? out : cin === 1 ? 4 : cin * 2;
    s.layer(`conv3d_${i + 1}`, [cout, cin, 3, 3, 3]);
  });
  return s;
}

/** pytorch-3dunet `UNet3D` settings used by the seed. */
export interface Unet3dConfig {
  in_channels: number;
  out_channels: number;
  f_maps: number;
  num_groups: number;
  num_levels: number;
}

/** Channel plan of a UNet3D's double convs: [conv1 in, conv1 out, conv2 out] per block. */
export function unet3dPlan(c: Unet3dConfig): { encoders: number[][]; decoders: number[][] } {
  const f = Array.from({ length: c.num_levels }, (_, i) => c.f_maps * 2 ** i);
  const encoders = f.map((out, i) => {
    const cin = i === 0 ? c.in_channels : f[i - 1];
    const mid = Math.max(Math.floor(out / 2), cin);
    return [cin, mid, out];
  });
  const decoders: number[][] = [];
  for (let i = c.num_levels - 1; i > 0; i--) {
    decoders.push([f[i - 1] + f[i], f[i - 1], f[i - 1]]);
  }
  return { encoders, decoders };
}

/** pytorch-3dunet `UNet3D` keys (`encoders.{i}.basic_module.SingleConv{1,2}.…`, `final_conv.…`). */
export function unet3dSpec(c: Unet3dConfig): ParamSpec {
  const s = new ParamSpec();
  const plan = unet3dPlan(c);
  const double = (prefix: string, [cin, mid, out]: number[]) => {
    s.norm(`${prefix}.basic_module.SingleConv1.groupnorm`, cin);
    s.layer(`${prefix}.basic_module.SingleConv1.conv`, [mid, cin, 3, 3, 3], false);
    s.norm(`${prefix}.basic_module.SingleConv2.groupnorm`, mid);
    s.layer(`${prefix}.basic_module.SingleConv2.conv`, [out, mid, 3, 3, 3], false);
  };
  plan.encoders.forEach((p, i) => double(`encoders.${i}`, p));
  plan.decoders.forEach((p, i) => double(`decoders.${i}`, p));
  s.layer("final_conv", [c.out_channels, c.f_maps, 1, 1, 1]);
  return s;
}

/** MONAI `UNETR` settings used by the seed (img_size and sizes are parameters so tests can shrink them). */
export interface UnetrConfig {
  in_channels: number;
  out_channels: number;
  img_size: [number, number, number];
  patch_size: number;
  feature_size: number;
  hidden_size: number;
  mlp_dim: number;
  num_layers: number;
  num_heads: number;
  conv_block: boolean;
}

/** The seed's UNETR: 16x512x512, patch 16, hidden 768, 12 layers of 12 heads, feature size 16. */
export function seedUnetrConfig(conv_block: boolean): UnetrConfig {
  return {
    in_channels: 1,
    out_channels: 32,
    img_size: [16, 512, 512],
    patch_size: 16,
    feature_size: 16,
    hidden_size: 768,
    mlp_dim: 3072,
    num_layers: 12,
    num_heads: 12,
    conv_block,
  };
}

/** MONAI `UNETR` keys (`vit.…`, `encoder1..4.…`, `decoder2..5.…`, `out.conv.conv.…`). */
export function unetrSpec(c: UnetrConfig): ParamSpec {
  const s = new ParamSpec();
  const h = c.hidden_size;
  const p = c.patch_size;
  const tokens = c.img_size.reduce((a, d) => a * (d / p), 1);
  s.add("vit.patch_embedding.position_embeddings", [1, tokens, h]);
  s.layer("vit.patch_embedding.patch_embeddings.1", [h, c.in_channels * p ** 3]);
  for (let i = 0; i < c.num_layers; i++) {
    const b = `vit.blocks.${i}`;
    s.layer(`${b}.mlp.linear1`, [c.mlp_dim, h]);
    s.layer(`${b}.mlp.linear2`, [h, c.mlp_dim]);
    s.norm(`${b}.norm1`, h);
    s.add(`${b}.attn.out_proj.weight`, [h, h]).add(`${b}.attn.out_proj.bias`, [h]);
    s.add(`${b}.attn.qkv.weight`, [3 * h, h]);
    s.norm(`${b}.norm2`, h);
  }
  s.norm("vit.norm", h);
  const f = c.feature_size;
  const res = (prefix: string, cin: number, cout: number) => {
    s.add(`${prefix}.conv1.conv.weight`, [cout, cin, 3, 3, 3]);
    s.add(`${prefix}.conv2.conv.weight`, [cout, cout, 3, 3, 3]);
    if (cin !== cout) s.add(`${prefix}.conv3.conv.weight`, [cout, cin, 1, 1, 1]);
  };
  res("encoder1.layer", c.in_channels, f);
  const prUp = (name: string, out: number, layers: number) => {
    s.add(`${name}.transp_conv_init.conv.weight`, [h, out, 2, 2, 2]);
    for (let j = 0; j < layers; j++) {
      if (c.conv_block) {
        s.add(`${name}.blocks.${j}.0.conv.weight`, [out, out, 2, 2, 2]);
        res(`${name}.blocks.${j}.1`, out, out);
      } else {
        s.add(`${name}.blocks.${j}.conv.weight`, [out, out, 2, 2, 2]);
      }
    }
  };
  prUp("encoder2", 2 * f, 2);
  prUp("encoder3", 4 * f, 1);
  prUp("encoder4", 8 * f, 0);
  const up = (name: string, cin: number, out: number) => {
    s.add(`${name}.transp_conv.conv.weight`, [cin, out, 2, 2, 2]);
    res(`${name}.conv_block`, 2 * out, out);
  };
  up("decoder5", h, 8 * f);
  up("decoder4", 8 * f, 4 * f);
  up("decoder3", 4 * f, 2 * f);
  up("decoder2", 2 * f, f);
  s.layer("out.conv.conv", [c.out_channels, f, 1, 1, 1]);
  return s;
}
