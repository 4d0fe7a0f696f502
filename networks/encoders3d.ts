/**
 * The seed's 3D encoders: (N, 1, D, H, W) in [0, 1] -> (N, C, D, H, W).
 *
 * - `CNN3D`: four 3x3x3 convolutions with bias and no activation (seed-spec 2.2).
 * - pytorch-3dunet `UNet3D`, layer order "gcr" (seed-spec 2.4).
 * - MONAI `UNETR` (seed-spec 2.5).
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import { emptyTensor, type GpuTensor } from "../kernels/tensor.ts";
import type { Encoder3d } from "./families.ts";
import type { Ops } from "./ops.ts";
import { type Unet3dConfig, unet3dPlan, type UnetrConfig } from "./specs.ts";
import type { Weights } from "./weights.ts";

/**
 * Runs a 3D encoder; `x` stays owned by the caller. With `flatten`, returns
 * the seed's max over depth, (N, C, H, W), computing the last convolution
 * of cnn3d and UNet3D channel chunk by channel chunk with the max fused, so
 * its full (N, C, D, H, W) output (2 GiB for cnn3d at a 1024 tile, over the
 * adapter's largest buffer) never exists.
 */
export function encode3d(
  ops: Ops,
  enc: Encoder3d,
  w: Weights,
  x: GpuTensor,
  flatten = false,
): GpuTensor {
  const last = (y: GpuTensor, key: string, padding: number) => {
    const weight = w.get(`${key}.weight`);
    const bias = w.get(`${key}.bias`);
    if (flatten) return convMaxOverDepth(ops, y, weight, bias, padding);
    return ops.conv3d(y, weight, bias, { padding });
  };
  switch (enc.kind) {
    case "cnn3d":
      return cnn3d(ops, w, x, last);
    case "unet3d":
      return unet3d(ops, enc.config, w, x, last);
    case "unetr": {
      const y = unetr(ops, enc.config, w, x);
      if (!flatten) return y;
      const f = ops.flattenMax(y);
      ops.free(y);
      return f;
    }
  }
}

type LastConv = (y: GpuTensor, key: string, padding: number) => GpuTensor;

/**
 * max over depth of conv3d(y), by chunks of output channels sized so each
 * chunk's (N, c, D, H, W) output fits one storage binding.
 */
function convMaxOverDepth(
  ops: Ops,
  y: GpuTensor,
  weight: GpuTensor,
  bias: GpuTensor,
  padding: number,
): GpuTensor {
  const [n, , d, h, wd] = y.shape;
  const co = weight.shape[0];
  const per = Math.max(1, Math.floor((ops.gpu.maxBinding - 256) / (n * d * h * wd * 4)));
  if (per >= co) {
    const z = ops.conv3d(y, weight, bias, { padding });
    const f = ops.flattenMax(z);
    ops.free(z);
    return f;
  }
  const out = ops.empty([n, co, h, wd]);
  for (let c0 = 0; c0 < co; c0 += per) {
    const c1 = Math.min(co, c0 + per);
    const z = ops.conv3d(y, ops.rows(weight, c0, c1), ops.rows(bias, c0, c1), { padding });
    const f = ops.flattenMax(z);
    ops.free(z);
    ops.copyChannels(out, f, c0);
    ops.free(f);
  }
  return out;
}

function cnn3d(ops: Ops, w: Weights, x: GpuTensor, last: LastConv): GpuTensor {
  let y = x;
  for (let i = 1; i <= 3; i++) {
    const z = ops.conv3d(y, w.get(`conv3d_${i}.weight`), w.get(`conv3d_${i}.bias`), { padding: 1 });
    if (y !== x) ops.free(y);
    y = z;
  }
  const out = last(y, "conv3d_4", 1);
  ops.free(y);
  return out;
}

/** pytorch-3dunet SingleConv "gcr": GroupNorm -> Conv3d (no bias) -> ReLU. */
function singleConv(ops: Ops, groups: number, w: Weights, x: GpuTensor): GpuTensor {
  const channels = x.shape[1];
  const g = channels < groups ? 1 : groups;
  const n = ops.groupNorm(x, g, w.get("groupnorm.weight"), w.get("groupnorm.bias"));
  const c = ops.conv3d(n, w.get("conv.weight"), undefined, { padding: 1 });
  ops.free(n);
  const r = ops.relu(c);
  ops.free(c);
  return r;
}

function doubleConv(ops: Ops, groups: number, w: Weights, x: GpuTensor): GpuTensor {
  const a = singleConv(ops, groups, w.at("basic_module.SingleConv1."), x);
  const b = singleConv(ops, groups, w.at("basic_module.SingleConv2."), a);
  ops.free(a);
  return b;
}

function unet3d(ops: Ops, c: Unet3dConfig, w: Weights, x: GpuTensor, last: LastConv): GpuTensor {
  const plan = unet3dPlan(c);
  const features: GpuTensor[] = [];
  let y = x;
  for (let i = 0; i < plan.encoders.length; i++) {
    const pooled = i === 0 ? y : ops.maxPool3d(y);
    y = doubleConv(ops, c.num_groups, w.at(`encoders.${i}.`), pooled);
    if (pooled !== x) ops.free(pooled);
    features.unshift(y);
  }
  features.shift(); // the deepest level is the decoders' input, not a skip
  for (let i = 0; i < plan.decoders.length; i++) {
    const skip = features[i];
    const up = ops.upsampleNearest3d(y, skip.shape.slice(2) as [number, number, number]);
    ops.free(y);
    const cat = ops.concat([skip, up]); // pytorch-3dunet: (encoder features, upsampled)
    ops.free(skip, up);
    y = doubleConv(ops, c.num_groups, w.at(`decoders.${i}.`), cat);
    ops.free(cat);
  }
  const out = last(y, "final_conv", 0);
  ops.free(y);
  return out;
}

/** MONAI UnetResBlock: conv-IN-lrelu-conv-IN (+ 1x1 conv-IN residual when channels change), add, lrelu. */
function resBlock(ops: Ops, w: Weights, x: GpuTensor): GpuTensor {
  const slope = { leakyRelu: 0.01 };
  const c1 = ops.conv3d(x, w.get("conv1.conv.weight"), undefined, { padding: 1 });
  const n1 = ops.groupNorm(c1, c1.shape[1], undefined, undefined, slope);
  ops.free(c1);
  const c2 = ops.conv3d(n1, w.get("conv2.conv.weight"), undefined, { padding: 1 });
  ops.free(n1);
  const n2 = ops.groupNorm(c2, c2.shape[1]);
  ops.free(c2);
  let residual = x;
  if (w.has("conv3.conv.weight")) {
    const c3 = ops.conv3d(x, w.get("conv3.conv.weight"), undefined);
    residual = ops.groupNorm(c3, c3.shape[1]);
    ops.free(c3);
  }
  const sum = ops.add(n2, residual);
  ops.free(n2);
  if (residual !== x) ops.free(residual);
  const out = ops.leakyRelu(sum, 0.01);
  ops.free(sum);
  return out;
}

function unetr(ops: Ops, c: UnetrConfig, w: Weights, x: GpuTensor): GpuTensor {
  const [n] = x.shape;
  const p = c.patch_size;
  const grid = c.img_size.map((d) => d / p) as [number, number, number];
  const tokens = grid[0] * grid[1] * grid[2];
  const h = c.hidden_size;
  const vit = w.at("vit.");

  // Patch embedding: the Linear over (pz, py, px, c) patches is a stride-p convolution.
  const pw = vit.get("patch_embedding.patch_embeddings.1.weight").view([h, c.in_channels, p, p, p]);
  const emb = ops.conv3d(x, pw, vit.get("patch_embedding.patch_embeddings.1.bias"), { stride: p });
  const tok = ops.transpose(emb.view([n, h, tokens]), [n, tokens, h]);
  ops.free(emb);
  let t = ops.addBroadcast(tok, vit.get("patch_embedding.position_embeddings"));
  ops.free(tok);

  // ViT blocks; hidden_states_out[3], [6] and [9] feed encoders 2-4.
  const skips = new Map<number, GpuTensor>();
  for (let i = 0; i < c.num_layers; i++) {
    const b = vit.at(`blocks.${i}.`);
    const n1 = ops.layerNorm(t, b.get("norm1.weight"), b.get("norm1.bias"));
    // qkv.weight rows are (q, k, v) blocks; splitQkv() split them when the weights were loaded.
    const q = ops.linear(n1, b.get("attn.q.weight"));
    const k = ops.linear(n1, b.get("attn.k.weight"));
    const v = ops.linear(n1, b.get("attn.v.weight"));
    ops.free(n1);
    const a = ops.attention(q, k, v, c.num_heads);
    ops.free(q, k, v);
    const o = ops.linear(a, b.get("attn.out_proj.weight"), b.get("attn.out_proj.bias"));
    ops.free(a);
    const t1 = ops.add(t, o);
    ops.free(o);
    if (!skips.has(i - 1)) ops.free(t);
    const n2 = ops.layerNorm(t1, b.get("norm2.weight"), b.get("norm2.bias"));
    const m1 = ops.linear(n2, b.get("mlp.linear1.weight"), b.get("mlp.linear1.bias"));
    ops.free(n2);
    const g = ops.gelu(m1);
    ops.free(m1);
    const m2 = ops.linear(g, b.get("mlp.linear2.weight"), b.get("mlp.linear2.bias"));
    ops.free(g);
    t = ops.add(t1, m2);
    ops.free(t1, m2);
    if (i === 3 || i === 6 || i === 9) skips.set(i, t);
  }
  const last = ops.layerNorm(t, vit.get("norm.weight"), vit.get("norm.bias"));
  if (!skips.has(c.num_layers - 1)) ops.free(t);
  const proj = (tok: GpuTensor) => ops.transpose(tok, [n, h, ...grid]);

  const enc1 = resBlock(ops, w.at("encoder1.layer."), x);
  const prUp = (name: string, tok: GpuTensor, layers: number) => {
    const e = w.at(`${name}.`);
    const f = proj(tok);
    ops.free(tok);
    let y = ops.convTranspose3d(f, e.get("transp_conv_init.conv.weight"), 2);
    ops.free(f);
    for (let j = 0; j < layers; j++) {
      const key = c.conv_block ? `blocks.${j}.0.conv.weight` : `blocks.${j}.conv.weight`;
      const up = ops.convTranspose3d(y, e.get(key), 2);
      ops.free(y);
      y = up;
      if (c.conv_block) {
        y = resBlock(ops, e.at(`blocks.${j}.1.`), up);
        ops.free(up);
      }
    }
    return y;
  };
  const enc2 = prUp("encoder2", skips.get(3)!, 2);
  const enc3 = prUp("encoder3", skips.get(6)!, 1);
  const enc4 = prUp("encoder4", skips.get(9)!, 0);

  const upBlock = (name: string, inp: GpuTensor, skip: GpuTensor) => {
    const e = w.at(`${name}.`);
    const up = ops.convTranspose3d(inp, e.get("transp_conv.conv.weight"), 2);
    const cat = ops.concat([up, skip]); // MONAI: (upsampled, skip)
    ops.free(up, inp, skip);
    const out = resBlock(ops, e.at("conv_block."), cat);
    ops.free(cat);
    return out;
  };
  const dec4 = proj(last);
  ops.free(last);
  const dec3 = upBlock("decoder5", dec4, enc4);
  const dec2 = upBlock("decoder4", dec3, enc3);
  const dec1 = upBlock("decoder3", dec2, enc2);
  const out = upBlock("decoder2", dec1, enc1);
  const y = ops.conv3d(out, w.get("out.conv.conv.weight"), w.get("out.conv.conv.bias"));
  ops.free(out);
  return y;
}

/**
 * Splits every ViT block's fused `attn.qkv.weight` (3C, C), whose rows are
 * laid out (qkv, head, d), into `attn.q.weight`, `attn.k.weight` and
 * `attn.v.weight` (C, C) each, so attention reads three plain projections.
 */
export function splitQkv(gpu: Gpu, c: UnetrConfig, w: Weights): void {
  const rec = gpu.kernels.recorder("unetr/split_qkv");
  const h = c.hidden_size;
  for (let i = 0; i < c.num_layers; i++) {
    const b = w.at(`vit.blocks.${i}.attn.`);
    const qkv = b.get("qkv.weight");
    ["q", "k", "v"].forEach((name, j) => {
      const part = emptyTensor(gpu, [h, h], "f32", `unetr/${name}`);
      rec.copy(qkv.buffer, j * h * h * 4, part.buffer, 0, h * h * 4);
      b.set(`${name}.weight`, part);
    });
  }
  rec.submit();
}
