/**
 * Killing a run and starting it again: the second run resumes from the
 * bands the first one flushed and its outputs are byte-identical to those
 * of an uninterrupted run.
 */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const FIX = `${ROOT}tests/fixtures/networks/`;
const fixture = JSON.parse(await Deno.readTextFile(`${FIX}cnn3d_b0tiny.json`));
const { num_encoder_blocks: _, hidden_act: __, reshape_last_stage: ___, ...segformer } =
  fixture.segformer;

/** Every file under `dir`, relative, sorted (the manifest aside: it records times). */
async function files(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/${prefix}`)) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory) out.push(...await files(dir, rel));
    else if (rel !== "manifest.json") out.push(rel);
  }
  return out.sort();
}

function command(pipeline: string, out: string): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}engine/cli.ts`, "run", pipeline, "--out", out, "--quiet"],
    stdout: "null",
    stderr: "piped",
  });
}

async function bandsDone(out: string): Promise<number> {
  try {
    return JSON.parse(await Deno.readTextFile(`${out}/.work/member/map.json`)).done;
  } catch {
    return 0;
  }
}

async function manifest(out: string) {
  return JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
}

Deno.test("a killed run resumes from its finished bands and ends byte-identical", async () => {
  const dir = await Deno.makeTempDir({ prefix: "ink-resume-" });
  const spec = {
    nodes: {
      input: { stage: "synthetic_fragment", with: { height: 200, width: 72, depth: 16, seed: 3 } },
      tiles: { stage: "tile_crop", from: "input", with: { tile: 64, stride: 16, batch: 2 } },
      net: {
        stage: "network",
        from: "tiles",
        with: { family: "cnn3d", weights: `${FIX}cnn3d_b0tiny.pth`, segformer },
      },
      member: { stage: "blend", from: "net", with: { band_rows: 16 } },
      probs: { stage: "ensemble", from: { m1: "member" } },
      binary: { stage: "postprocess", from: "probs", with: { min_size: 5 } },
      outputs: {
        stage: "write_outputs",
        from: { binary: "binary", probabilities: "probs", volume: "input" },
        with: { prefix: "prediction" },
      },
    },
  };
  const pipeline = `${dir}/p.yaml`;
  await Deno.writeTextFile(pipeline, stringify(spec, { aliasDuplicateObjects: false }));

  const whole = `${dir}/whole`;
  const first = await command(pipeline, whole).output();
  assert.equal(first.code, 0, new TextDecoder().decode(first.stderr));
  await assert.rejects(() => Deno.stat(`${whole}/.work`), "a complete run removes its work folder");

  // Kill a second run once a few bands, but not all 13, are flushed.
  const resumed = `${dir}/resumed`;
  const child = command(pipeline, resumed).spawn();
  let done = 0;
  while ((done = await bandsDone(resumed)) < 4) await new Promise((r) => setTimeout(r, 10));
  child.kill("SIGKILL");
  await child.output();
  assert.ok(done < 13, `the run was killed after ${done} of 13 bands`);
  await assert.rejects(() => Deno.stat(`${resumed}/prediction.png`), "no output after a kill");

  const again = await command(pipeline, resumed).output();
  assert.equal(again.code, 0, new TextDecoder().decode(again.stderr));
  const written = await files(whole);
  assert.ok(written.includes("prediction_submission.csv") && written.length > 5, `${written}`);
  assert.deepEqual(await files(resumed), written);
  for (const file of written) {
    assert.deepEqual(
      await Deno.readFile(`${resumed}/${file}`),
      await Deno.readFile(`${whole}/${file}`),
      `${file} differs after resuming`,
    );
  }
  const batches = (m: { nodes: { id: string; batches?: number }[] }) =>
    m.nodes.find((n) => n.id === "tiles")!.batches!;
  const [all, rest] = [batches(await manifest(whole)), batches(await manifest(resumed))];
  assert.ok(rest < all, `the resumed run cropped ${rest} batches, the whole run ${all}`);
});
