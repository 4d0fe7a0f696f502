/**
 * `deno task inspect FILE [--json]`: what a checkpoint holds. Prints the
 * seed family it looks like (or "unknown"), each tensor's key, dtype and
 * shape in aligned columns, and the totals; `--json` prints the same as one
 * JSON object. Reads no tensor data.
 *
 * A problem with the file prints `error: <one line>` on stderr and exits 1;
 * a usage error exits 2.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UserError } from "../data/errors.ts";
import {
  detectFamily,
  type FamilyInfo,
  formatShape,
  loadCheckpoint,
} from "../data/checkpoint/mod.ts";

/** The usage line. */
export const USAGE = "usage: deno task inspect FILE [--json]";

/** Where {@linkcode main} writes (tests replace these). */
export interface InspectOptions {
  /** Writes a line to stdout. */
  stdout?: (line: string) => void;
  /** Writes a line to stderr. */
  stderr?: (line: string) => void;
}

/**
 * Runs the tool and returns the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await main(["weights/cnn3d_final_swa.pth", "--json"]);
 * ```
 */
export async function main(args: string[], options: InspectOptions = {}): Promise<number> {
  const stdout = options.stdout ?? ((line: string) => console.log(line));
  const stderr = options.stderr ?? ((line: string) => console.error(line));
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (err) {
    const option = /'(-[^' ]+)/.exec((err as Error).message)?.[1];
    const unknown = (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION";
    const why = unknown && option
      ? `unknown option ${JSON.stringify(option)}`
      : (err as Error).message;
    stderr(`error: ${why.split("\n")[0]} (see --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    stdout(USAGE);
    return 0;
  }
  if (positionals.length !== 1) {
    stderr(`error: ${positionals.length ? "expected one file" : "missing FILE"} (see --help)`);
    return 2;
  }
  const [path] = positionals;
  try {
    const dict = await loadCheckpoint(path);
    const family = detectFamily(dict) ?? null;
    const tensors = [...dict].map(([key, t]) => ({ key, dtype: t.dtype, shape: [...t.shape] }));
    const totals = {
      tensors: dict.size,
      parameters: [...dict.values()].reduce((sum, t) => sum + t.size, 0),
      bytes: [...dict.values()].reduce((sum, t) => sum + t.byteLength, 0),
    };
    if (values.json) {
      stdout(JSON.stringify({ file: path, family, tensors, totals }, null, 2));
      return 0;
    }
    stdout(`family: ${describeFamily(family)}`);
    const rows = [
      ["key", "dtype", "shape"],
      ...tensors.map((t) => [t.key, t.dtype, formatShape(t.shape)]),
    ];
    const widths = [0, 1].map((c) => Math.max(...rows.map((row) => row[c].length)));
    for (const row of rows) {
      stdout(row.map((cell, c) => c < 2 ? cell.padEnd(widths[c]) : cell).join("  "));
    }
    const n = (v: number) => v.toLocaleString("en-US");
    stdout(
      `${n(totals.tensors)} tensors, ${n(totals.parameters)} parameters, ${n(totals.bytes)} bytes`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof UserError || err instanceof Deno.errors.NotCapable)) throw err;
    stderr(`error: ${err.message}`);
    return 1;
  }
}

/** "cnn3d (SegFormer b3 under "xy_encoder_2d.", 32 channels, 1 label)", or "unknown". */
function describeFamily(info: FamilyInfo | null): string {
  if (!info) return "unknown";
  const s = info.segformer;
  if (!s) return `${info.family} (no SegFormer keys)`;
  const variant = s.variant ??
    `of hidden sizes ${s.hiddenSizes.join(",")} and depths ${s.depths.join(",")}`;
  const parts = [`SegFormer ${variant}${s.prefix ? ` under ${JSON.stringify(s.prefix)}` : ""}`];
  parts.push(`${s.numChannels} channel${s.numChannels === 1 ? "" : "s"}`);
  if (s.numLabels !== undefined) parts.push(`${s.numLabels} label${s.numLabels === 1 ? "" : "s"}`);
  return `${info.family} (${parts.join(", ")})`;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
