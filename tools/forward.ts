/**
 * `deno task forward`: runs one ensemble member on a float32 `.npy` tile,
 * the quickest way to check a checkpoint against PyTorch.
 *
 *   deno task forward --checkpoint FILE --family NAME [--segformer PRESET_OR_JSON]
 *                     [--unetr JSON] --input TILE.npy --out LOGITS.npy
 *
 * The input is (N, 1, D, H, W); the output the upscaled logits (N, L, H, W)
 * (for unetr_mc, the ink channel: (N, 1, H, W)). `--segformer` takes
 * `mit-b0`..`mit-b5` or a JSON object with HF SegformerConfig field names;
 * by default the family's ensemble preset. `--unetr` overrides UNETR sizes
 * (img_size, hidden_size, ...) for networks not at the seed's.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UserError } from "../data/errors.ts";
import { loadCheckpoint } from "../data/checkpoint/mod.ts";
import { readNpy, writeNpy } from "../data/npy.ts";
import { getGpu } from "../kernels/device.ts";
import { downloadTensor, uploadTensor } from "../kernels/tensor.ts";
import { memberConfig } from "../networks/families.ts";
import { Member } from "../networks/member.ts";

/** The usage text. */
export const USAGE =
  "usage: deno task forward --checkpoint FILE --family NAME [--segformer PRESET_OR_JSON] [--unetr JSON] --input TILE.npy --out LOGITS.npy";

function json(flag: string, text: string | undefined): Record<string, never> | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`--${flag} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Runs the tool and returns the exit code. */
export async function main(args: string[], log = (s: string) => console.error(s)): Promise<number> {
  let values;
  try {
    values = parseArgs({
      args,
      options: {
        checkpoint: { type: "string" },
        family: { type: "string" },
        segformer: { type: "string" },
        unetr: { type: "string" },
        input: { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }).values;
  } catch (e) {
    log(`error: ${(e as Error).message.split("\n")[0]} (see --help)`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const missing = ["checkpoint", "family", "input", "out"].filter((k) =>
    !values[k as keyof typeof values]
  );
  if (missing.length) {
    log(`error: missing ${missing.map((m) => `--${m}`).join(", ")} (see --help)`);
    return 2;
  }
  try {
    const seg = values.segformer?.trim().startsWith("{")
      ? json("segformer", values.segformer)
      : values.segformer;
    const cfg = memberConfig(values.family!, {
      segformer: seg,
      unetr: json("unetr", values.unetr),
    });
    const input = await readNpy(values.input!, { dtype: "f32" });
    if (input.shape.length !== 5 || input.shape[1] !== 1) {
      throw new UserError(
        `Input "${values.input}" must be (N, 1, D, H, W), got (${input.shape.join(", ")})`,
      );
    }
    const gpu = await getGpu();
    const t0 = performance.now();
    const member = await Member.load(gpu, cfg, await loadCheckpoint(values.checkpoint!));
    const t1 = performance.now();
    const x = uploadTensor(gpu, input.shape, "f32", input.data);
    const y = member.forward(x);
    const out = await downloadTensor(y) as Float32Array;
    const t2 = performance.now();
    await writeNpy(values.out!, y.shape, out);
    log(
      `${cfg.family}: (${input.shape.join(", ")}) -> (${y.shape.join(", ")}) in ${
        ((t2 - t1) / 1000).toFixed(2)
      } s (weights ${
        ((t1 - t0) / 1000).toFixed(2)
      } s) on ${gpu.adapter.description}; wrote ${values.out}`,
    );
    x.release();
    y.release();
    member.release();
    return 0;
  } catch (e) {
    if (e instanceof UserError || (e as Error).name === "NoAdapterError") {
      log(`error: ${(e as Error).message}`);
      return 1;
    }
    throw e;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
