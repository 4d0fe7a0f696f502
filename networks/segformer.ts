/**
 * HF `SegformerForSemanticSegmentation` in eval mode, and the seed's two
 * learned upscalers: (N, C, H, W) -> logits (N, L, H, W).
 *
 * Encoder (per stage i): overlap patch embedding (conv k_i/s_i, padding
 * k_i // 2) -> tokens -> LayerNorm; depth_i pre-norm blocks of efficient
 * self-attention (K/V from a stride-sr conv + LayerNorm when sr > 1) and
 * Mix-FFN (dense1 -> depthwise 3x3 -> exact GELU -> dense2); stage LayerNorm.
 * Decode head: per-stage Linear to the decoder width, bilinear resize to the
 * stage-1 size, concat [4, 3, 2, 1], 1x1 fuse conv, BatchNorm + ReLU,
 * classifier. LayerNorm eps is 1e-5 everywhere (seed-spec 2.1).
 *
 * @module
 */

import type { GpuTensor } from "../kernels/tensor.ts";
import type { DropoutUnit, Ops } from "./ops.ts";
import type { SegformerConfig } from "./segformer_config.ts";
import type { Weights } from "./weights.ts";

/** SegFormer logits at a quarter of the input size, (N, L, H/4, W/4). `x` stays the caller's. */
export function segformer(ops: Ops, c: SegformerConfig, w: Weights, x: GpuTensor): GpuTensor {
  const n = x.shape[0];
  const stages: { tokens: GpuTensor; h: number; w: number }[] = [];
  let image = x;
  for (let i = 0; i < 4; i++) {
    const e = w.at(`segformer.encoder.`);
    const k = c.patch_sizes[i];
    const conv = ops.conv2d(
      image,
      e.get(`patch_embeddings.${i}.proj.weight`),
      e.get(`patch_embeddings.${i}.proj.bias`),
      {
        stride: c.strides[i],
        padding: Math.floor(k / 2),
      },
    );
    if (image !== x) ops.free(image);
    const [, hidden, hi, wi] = conv.shape;
    const raw = ops.transpose(conv.view([n, hidden, hi * wi]), [n, hi * wi, hidden]);
    ops.free(conv);
    let t = ops.layerNorm(
      raw,
      e.get(`patch_embeddings.${i}.layer_norm.weight`),
      e.get(`patch_embeddings.${i}.layer_norm.bias`),
    );
    ops.free(raw);
    for (let j = 0; j < c.depths[i]; j++) {
      const drop = dropPath(c, c.depths.slice(0, i).reduce((a, b) => a + b, 0) + j);
      const next = block(ops, c, i, e.at(`block.${i}.${j}.`), t, hi, wi, drop);
      ops.free(t);
      t = next;
    }
    const out = ops.layerNorm(t, e.get(`layer_norm.${i}.weight`), e.get(`layer_norm.${i}.bias`));
    ops.free(t);
    stages.push({ tokens: out, h: hi, w: wi });
    image = ops.transpose(out, [n, hidden, hi, wi]);
  }
  ops.free(image);
  return decodeHead(ops, c, w.at("decode_head."), stages);
}

/** HF's stochastic-depth rate of block `k` (counted over all stages): linear from 0 to the config's rate. */
function dropPath(c: SegformerConfig, k: number): number {
  const total = c.depths.reduce((a, b) => a + b, 0);
  return total > 1 ? (c.drop_path_rate ?? 0) * k / (total - 1) : 0;
}

/** `ops.dropout` that frees its input when it made a new tensor (training). */
function drop(ops: Ops, x: GpuTensor, p: number, unit: DropoutUnit = "element"): GpuTensor {
  const y = ops.dropout(x, p, unit);
  if (y !== x) ops.free(x);
  return y;
}

function block(
  ops: Ops,
  c: SegformerConfig,
  i: number,
  w: Weights,
  x: GpuTensor,
  h: number,
  wd: number,
  dropRate: number,
): GpuTensor {
  const [n, t, hidden] = x.shape;
  const sr = c.sr_ratios[i];
  const ln1 = ops.layerNorm(x, w.get("layer_norm_1.weight"), w.get("layer_norm_1.bias"));
  const a = w.at("attention.self.");
  const q = ops.linear(ln1, a.get("query.weight"), a.get("query.bias"));
  let kv = ln1;
  if (sr > 1) {
    const img = ops.transpose(ln1, [n, hidden, h, wd]);
    const red = ops.conv2d(img, a.get("sr.weight"), a.get("sr.bias"), { stride: sr });
    ops.free(img);
    const [, , rh, rw] = red.shape;
    const tok = ops.transpose(red.view([n, hidden, rh * rw]), [n, rh * rw, hidden]);
    ops.free(red);
    kv = ops.layerNorm(tok, a.get("layer_norm.weight"), a.get("layer_norm.bias"));
    ops.free(tok);
  }
  const k = ops.linear(kv, a.get("key.weight"), a.get("key.bias"));
  const v = ops.linear(kv, a.get("value.weight"), a.get("value.bias"));
  if (kv !== ln1) ops.free(kv);
  ops.free(ln1);
  const att = ops.attention(q, k, v, c.num_attention_heads[i]);
  ops.free(q, k, v);
  const proj = ops.linear(
    att,
    w.get("attention.output.dense.weight"),
    w.get("attention.output.dense.bias"),
  );
  ops.free(att);
  // HF's SegformerSelfOutput and SegformerMixFFN: hidden dropout, then the block's drop-path.
  const hiddenDrop = c.hidden_dropout_prob ?? 0;
  const attended = drop(ops, drop(ops, proj, hiddenDrop), dropRate, "sample");
  const x1 = ops.add(x, attended);
  ops.free(attended);

  const ln2 = ops.layerNorm(x1, w.get("layer_norm_2.weight"), w.get("layer_norm_2.bias"));
  const d1 = ops.linear(ln2, w.get("mlp.dense1.weight"), w.get("mlp.dense1.bias"));
  ops.free(ln2);
  const m = d1.shape[2];
  const img = ops.transpose(d1, [n, m, h, wd]);
  ops.free(d1);
  const dw = ops.conv2d(img, w.get("mlp.dwconv.dwconv.weight"), w.get("mlp.dwconv.dwconv.bias"), {
    padding: 1,
    groups: m,
  });
  ops.free(img);
  const tok = ops.transpose(dw.view([n, m, t]), [n, t, m]);
  ops.free(dw);
  const g = drop(ops, ops.gelu(tok), hiddenDrop);
  ops.free(tok);
  const d2 = drop(
    ops,
    drop(ops, ops.linear(g, w.get("mlp.dense2.weight"), w.get("mlp.dense2.bias")), hiddenDrop),
    dropRate,
    "sample",
  );
  ops.free(g);
  const out = ops.add(x1, d2);
  ops.free(x1, d2);
  return out;
}

function decodeHead(
  ops: Ops,
  c: SegformerConfig,
  w: Weights,
  stages: { tokens: GpuTensor; h: number; w: number }[],
): GpuTensor {
  const n = stages[0].tokens.shape[0];
  const d = c.decoder_hidden_size;
  const [h0, w0] = [stages[0].h, stages[0].w];
  const maps: GpuTensor[] = [];
  stages.forEach((s, i) => {
    const y = ops.linear(
      s.tokens,
      w.get(`linear_c.${i}.proj.weight`),
      w.get(`linear_c.${i}.proj.bias`),
    );
    ops.free(s.tokens);
    const img = ops.transpose(y, [n, d, s.h, s.w]);
    ops.free(y);
    if (s.h === h0 && s.w === w0) maps.push(img);
    else {
      maps.push(ops.resizeBilinear(img, [h0, w0]));
      ops.free(img);
    }
  });
  const cat = ops.concat(maps.reverse());
  ops.free(...maps);
  const fused = ops.conv1x1(cat, w.get("linear_fuse.weight"));
  ops.free(cat);
  const bn = ops.batchNorm(
    fused,
    w.get("batch_norm.weight"),
    w.get("batch_norm.bias"),
    w.get("batch_norm.running_mean"),
    w.get("batch_norm.running_var"),
    "relu",
  );
  ops.free(fused);
  const dropped = drop(ops, bn, c.classifier_dropout_prob ?? 0);
  const logits = ops.conv1x1(dropped, w.get("classifier.weight"), w.get("classifier.bias"));
  ops.free(dropped);
  return logits;
}

/** The seed's upscalers: two ConvTranspose2d(L, L, 4, 2, 1), H/4 -> H. Frees `x`. */
export function upscale(ops: Ops, w: Weights, x: GpuTensor): GpuTensor {
  const a = ops.convTranspose2d(x, w.get("upscaler1.weight"), w.get("upscaler1.bias"), 2, 1);
  ops.free(x);
  const b = ops.convTranspose2d(a, w.get("upscaler2.weight"), w.get("upscaler2.bias"), 2, 1);
  ops.free(a);
  return b;
}
