/**
 * The `train` stage through the engine: a pipeline trains a tiny CNN3D +
 * SegFormer on a synthetic fragment and a `network` node runs what it
 * trained; the checkpoints load back with the seed's keys (and into the
 * seed's PyTorch module, where torch is installed); a run killed mid-epoch
 * and started again with the same output folder ends with the same weights
 * as an uninterrupted one.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { loadCheckpoint } from "../data/checkpoint/mod.ts";
import { findTorchPython } from "../data/checkpoint/_test_util.ts";
import { memberSpec } from "../networks/families.ts";
import { tinyConfig, tinySegformer } from "../train/_testing.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const segformer = tinySegformer(32);

function spec(epochs: number) {
  return {
    nodes: {
      input: { stage: "synthetic_fragment", with: { height: 96, width: 64, depth: 8, seed: 2 } },
      train: {
        stage: "train",
        from: "input",
        with: {
          family: "cnn3d",
          segformer,
          tile: 32,
          stride: 16,
          valid_stride: 16,
          batch: 4,
          epochs,
          lr: 1e-3,
          swa_start: 1,
          train_rows: [0, 64],
          valid_rows: [64, 96],
          steps_per_epoch: 4,
          checkpoint_every: 1,
          name: "tiny",
          export_pth: true,
        },
      },
      heldout: {
        stage: "synthetic_fragment",
        with: { height: 96, width: 64, depth: 8, seed: 2, rows: [64, 96] },
      },
      tiles: { stage: "tile_crop", from: "heldout", with: { tile: 32, stride: 16, batch: 4 } },
      net: {
        stage: "network",
        from: { tiles: "tiles", checkpoint: "train" },
        with: { family: "cnn3d", segformer },
      },
      member: { stage: "blend", from: "net" },
      probs: { stage: "ensemble", from: { m1: "member" } },
      scores: { stage: "evaluate", from: "probs" },
    },
  };
}

function command(pipeline: string, out: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}engine/cli.ts`, "run", pipeline, "--out", out, "--quiet"],
    stdout: "null",
    stderr: "piped",
  });
}

async function weights(path: string): Promise<Map<string, Float32Array>> {
  const dict = await loadCheckpoint(path);
  const out = new Map<string, Float32Array>();
  for (const [k, t] of dict) if (t.dtype === "f32") out.set(k, await t.data());
  return out;
}

Deno.test("train -> network in one pipeline; checkpoints with the seed's keys; kill and resume", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-train-" });
  try {
    const pipeline = `${dir}/p.yaml`;
    await Deno.writeTextFile(pipeline, stringify(spec(3), { aliasDuplicateObjects: false }));
    const whole = `${dir}/whole`;
    const run = await command(pipeline, whole).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    for (const f of ["tiny_final_swa.safetensors", "tiny_final.pth", "tiny_log.jsonl"]) {
      await Deno.stat(`${whole}/${f}`);
    }
    const scores = JSON.parse(await Deno.readTextFile(`${whole}/evaluation.json`));
    assert.ok(scores.f05 >= 0 && scores.f05 <= 1);
    const log = (await Deno.readTextFile(`${whole}/tiny_log.jsonl`)).trim().split("\n");
    assert.equal(log.length, 3);

    // Every key of the seed's state dict, from the .pth as from the safetensors.
    const keys = [...memberSpec(tinyConfig("cnn3d")).shapes.keys()].sort();
    const pth = await loadCheckpoint(`${whole}/tiny_final_swa.pth`);
    assert.deepEqual([...pth.keys()].sort(), keys);
    const python = await findTorchPython();
    if (python) {
      // The seed's PyTorch module loads it strictly.
      const code = `
import sys, torch
sys.path.insert(0, "${ROOT}tests/fixtures/networks")
from reference_models import CNN3D_Segformer, segformer_config
from gen_networks import TINY
m = CNN3D_Segformer(segformer_config(num_channels=32, **TINY), out_channels=32)
m.load_state_dict(torch.load(sys.argv[1], weights_only=True), strict=True)
print("ok")`;
      const r = await new Deno.Command(python, {
        args: ["-c", code, `${whole}/tiny_final_swa.pth`],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(
        new TextDecoder().decode(r.stdout).trim(),
        "ok",
        new TextDecoder().decode(r.stderr),
      );
    }

    // Kill a second run once its state has passed the first epoch, then start it again.
    const resumed = `${dir}/resumed`;
    const child = command(pipeline, resumed).spawn();
    const state = `${resumed}/.work/train/state.safetensors`;
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const log = await Deno.readTextFile(`${resumed}/tiny_log.jsonl`).catch(() => "");
      const saved = await Deno.stat(state).then(() => true, () => false);
      if (log.trim() && saved) break; // epoch 0 done; epoch 1 under way
    }
    child.kill("SIGKILL");
    await child.status;
    await Deno.stat(state); // the kill left the state
    const again = await command(pipeline, resumed).output();
    assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
    const a = await weights(`${whole}/tiny_final_swa.safetensors`);
    const b = await weights(`${resumed}/tiny_final_swa.safetensors`);
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [k, v] of a) assert.deepEqual(b.get(k), v, `${k} differs after resuming`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
