/**
 * A member network being trained: its weights on the GPU split into
 * trainable parameters and BatchNorm buffers, PyTorch's initialisation for
 * a model trained from scratch, and the state dict (seed key names) of what
 * it has learned.
 *
 * @module
 */

import type { Gpu } from "../kernels/device.ts";
import { downloadTensors, type GpuTensor } from "../kernels/tensor.ts";
import { StateDict, tensorFrom } from "../data/checkpoint/tensor.ts";
import type { MemberConfig } from "../networks/families.ts";
import { Member, partsSpec } from "../networks/member.ts";
import type { Ops } from "../networks/ops.ts";
import { isCounter } from "../networks/params.ts";
import type { Rng } from "./rng.ts";

const PARTS = ["encoder", "segformer", "upscalers"] as const;

/** True for BatchNorm running statistics and counters (state, not parameters). */
export function isBuffer(key: string): boolean {
  return key.endsWith(".running_mean") || key.endsWith(".running_var") || isCounter(key);
}

/**
 * Initial weights as PyTorch builds the seed's model from scratch: SegFormer
 * as HF's `_init_weights` (Linear and Conv2d normal(0, 0.02), biases 0;
 * LayerNorm and BatchNorm 1 and 0), the 3D encoder and the upscalers with
 * PyTorch's layer defaults (kaiming-uniform a = sqrt(5): weights and biases
 * uniform in ±1/sqrt(fan_in), fan_in of a transposed convolution from its
 * second weight axis). The seed starts SegFormer from ImageNet weights,
 * which are not available here.
 */
export function initialWeights(config: MemberConfig, rng: Rng): StateDict {
  const spec = partsSpec(config, PARTS);
  const dict = new StateDict("");
  // PyTorch's fan_in: weight.size(1) times the kernel size, for convolutions,
  // transposed ones (weight (Ci, Co, k...)) and linear layers alike.
  const fanIn = (shape: readonly number[]) => shape[1] * shape.slice(2).reduce((a, b) => a * b, 1);
  const weightShapes = spec.shapes;
  for (const [key, shape] of spec.shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const inSegformer = key.startsWith(config.segformerPrefix);
    const layer = key.slice(0, key.lastIndexOf("."));
    const weight = weightShapes.get(`${layer}.weight`);
    if (isCounter(key)) {
      dict.set(key, tensorFrom({ shape, data: new BigInt64Array(1) }));
      continue;
    }
    if (key.endsWith(".running_var")) data.fill(1);
    else if (key.endsWith(".running_mean")) data.fill(0);
    else if (key.endsWith(".weight") && shape.length === 1) data.fill(1); // norms
    else if (key.endsWith(".weight") || (weight && weight.length > 1 && key.endsWith(".bias"))) {
      const w = key.endsWith(".weight") ? shape : weight!;
      if (inSegformer) {
        if (key.endsWith(".weight")) { for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal(); }
      } else {
        const bound = 1 / Math.sqrt(fanIn(w));
        for (let i = 0; i < n; i++) data[i] = rng.uniform(-bound, bound);
      }
    } else if (shape.length > 1) {
      for (let i = 0; i < n; i++) data[i] = 0.02 * rng.normal(); // embeddings
    }
    dict.set(key, tensorFrom({ shape, data }));
  }
  return dict;
}

/** A member on the GPU with its parameters listed for an optimiser. */
export class TrainModel {
  readonly config: MemberConfig;
  readonly member: Member;
  /** Trainable keys and tensors, in state-dict order. */
  readonly names: string[] = [];
  readonly params: GpuTensor[] = [];
  /** BatchNorm updates seen (PyTorch's num_batches_tracked), per BatchNorm layer alike. */
  batchesTracked = 0;

  private constructor(config: MemberConfig, member: Member) {
    this.config = config;
    this.member = member;
    for (const [key, t] of member.weights.entries()) {
      // UNETR's fused qkv weight is split into q, k, v at load time: those are trained.
      if (isBuffer(key) || key.endsWith(".attn.qkv.weight")) continue;
      this.names.push(key);
      this.params.push(t);
    }
  }

  /** Uploads weights from a state dict (a checkpoint or {@linkcode initialWeights}). */
  static async create(gpu: Gpu, config: MemberConfig, dict: StateDict): Promise<TrainModel> {
    const member = await Member.load(gpu, config, dict, PARTS);
    const counter = [...dict].find(([k]) => isCounter(k));
    const model = new TrainModel(config, member);
    if (counter) model.batchesTracked = Number((await counter[1].raw())[0]);
    return model;
  }

  /**
   * Logits (N, L, H, W) of every label channel for tiles (N, 1, D, H, W).
   * The seed's training-only dropouts (UNETR's Dropout2d after the depth
   * max; SegFormer's drop-path, hidden and decode-head dropouts) apply where
   * `ops` applies dropout (a tape with a dropout seed).
   */
  forward(ops: Ops, x: GpuTensor): GpuTensor {
    let flat = this.member.encodeFlat(ops, x);
    if (this.config.flatDropout) {
      const dropped = ops.dropout(flat, this.config.flatDropout, "channel");
      if (dropped !== flat) ops.free(flat);
      flat = dropped;
    }
    const out = this.member.segment(ops, flat, true);
    ops.free(flat);
    return out;
  }

  /** The running-statistics tensors of every BatchNorm layer, by key. */
  buffers(): Map<string, GpuTensor> {
    const m = new Map<string, GpuTensor>();
    for (const [key, t] of this.member.weights.entries()) if (isBuffer(key)) m.set(key, t);
    return m;
  }

  /** Downloads every weight into a state dict with the seed's keys (float32; counters int64). */
  async stateDict(): Promise<StateDict> {
    const dict = new StateDict("");
    const spec = partsSpec(this.config, PARTS);
    const w = this.member.weights;
    const keys = [...spec.shapes.keys()].filter((k) => !isCounter(k));
    // UNETR's qkv weight is the concatenation of the trained q, k, v rows.
    const parts = (k: string) =>
      k.endsWith(".attn.qkv.weight")
        ? ["q", "k", "v"].map((n) => w.get(k.replace(/qkv\.weight$/, `${n}.weight`)))
        : [w.get(k)];
    const tensors = keys.flatMap(parts);
    const data = await downloadTensors(this.member.gpu, tensors);
    const byKey = new Map<string, Float32Array>();
    let at = 0;
    for (const k of keys) {
      const n = parts(k).length;
      const pieces = data.slice(at, at + n);
      at += n;
      if (n === 1) byKey.set(k, pieces[0]);
      else {
        const joined = new Float32Array(pieces.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of pieces) {
          joined.set(p, o);
          o += p.length;
        }
        byKey.set(k, joined);
      }
    }
    for (const [key, shape] of spec.shapes) {
      if (isCounter(key)) {
        dict.set(
          key,
          tensorFrom({ shape, data: new BigInt64Array([BigInt(this.batchesTracked)]) }),
        );
        continue;
      }
      dict.set(key, tensorFrom({ shape, data: byKey.get(key)! }));
    }
    return dict;
  }

  /** Releases the weights. */
  release(): void {
    this.member.release();
  }
}
