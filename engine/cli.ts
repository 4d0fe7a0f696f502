/**
 * The command line: `run`, `check` and `stages`, called through deno tasks.
 *
 * ```sh
 * deno task run PIPELINE.yaml [--set NODE.PARAM=VALUE]... [--out DIR] [--quiet]
 * deno task check PIPELINE.yaml [--set NODE.PARAM=VALUE]...
 * deno task stages [--markdown] [--write FILE]
 * ```
 *
 * A problem with the user's input prints `error: <one line>` on stderr and
 * exits 1; a usage error exits 2; an interrupted run exits 130. Anything else
 * is a bug and prints its stack.
 *
 * @module
 */

import { basename, extname, join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UserError } from "../data/errors.ts";
import type { Gpu } from "../kernels/device.ts";
import { registry as defaultRegistry, type StageRegistry } from "../stages/registry.ts";
import { stagesMarkdown, stagesText } from "./docs.ts";
import { applySets, loadPipeline, parseSet } from "./pipeline.ts";
import { INTERRUPTED, MANIFEST, runPlan } from "./run.ts";
import { formatPlan, type Plan, validate } from "./validate.ts";

/** Where `main` writes and what it runs with (tests replace these). */
export interface MainOptions {
  /** Writes a line to stdout. */
  stdout?: (line: string) => void;
  /** Writes a line to stderr. */
  stderr?: (line: string) => void;
  /** GPU provider for `run` (default: kernels/device.ts). */
  gpu?: () => Promise<Gpu>;
  /** Draw progress bars (default: when stderr is a terminal and not --quiet). */
  progress?: boolean;
}

/** The usage text, one line per command. */
export const USAGE = [
  "usage: deno task run PIPELINE.yaml [--set NODE.PARAM=VALUE]... [--out DIR] [--quiet]",
  "       deno task check PIPELINE.yaml [--set NODE.PARAM=VALUE]...",
  "       deno task stages [--markdown] [--write FILE]",
].join("\n");

class UsageError extends Error {}

/**
 * Runs the CLI and returns the exit code.
 *
 * @example
 * ```ts ignore
 * const code = await main(["check", "pipelines/quickstart.yaml"]);
 * ```
 */
export async function main(
  args: string[],
  registry: StageRegistry = defaultRegistry,
  options: MainOptions = {},
): Promise<number> {
  const stdout = options.stdout ?? ((line: string) => console.log(line));
  const stderr = options.stderr ?? ((line: string) => console.error(line));
  const [command, ...rest] = args;
  try {
    switch (command) {
      case "run":
        return await runCommand(rest, registry, options, stdout);
      case "check":
        return checkCommand(rest, registry, stdout);
      case "stages":
        return await stagesCommand(rest, registry, stdout);
      case "help":
      case "--help":
      case "-h":
        stdout(USAGE);
        return 0;
      default:
        throw new UsageError(
          command === undefined
            ? "missing command"
            : `unknown command ${JSON.stringify(command)} (valid: run, check, stages)`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) {
      stderr(`error: ${e.message} (see --help)`);
      return 2;
    }
    if (isUserFacing(e)) {
      stderr(`error: ${(e as Error).message.replace(/\s*\n\s*/g, " ")}`);
      return (e as Error).message === INTERRUPTED ? 130 : 1;
    }
    stderr((e as Error)?.stack ?? String(e));
    return 1;
  }
}

function isUserFacing(e: unknown): boolean {
  return e instanceof UserError ||
    (e instanceof Error && e.name === "NoAdapterError") ||
    e instanceof Deno.errors.NotCapable ||
    e instanceof Deno.errors.PermissionDenied;
}

/** `parseArgs` (strict, positionals allowed) with its errors turned into usage errors. */
function parse<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    const message = (e as Error).message;
    const option = /'(-[^' ]+)/.exec(message)?.[1] ?? "";
    const code = (e as { code?: string }).code;
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new UsageError(`unknown option ${JSON.stringify(option)}`);
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      throw new UsageError(`option ${JSON.stringify(option)} needs a value`);
    }
    throw new UsageError(message.split("\n")[0]);
  }
}

const SET = { type: "string", multiple: true } as const;
const HELP = { type: "boolean", short: "h" } as const;

function loadPlan(
  positionals: string[],
  sets: string[] | undefined,
  registry: StageRegistry,
): Plan {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length
        ? `expected one pipeline file, got ${positionals.length}`
        : "missing PIPELINE.yaml",
    );
  }
  const parsed = (sets ?? []).map((raw) => {
    try {
      return parseSet(raw);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  });
  const spec = loadPipeline(positionals[0]);
  applySets(spec, parsed);
  return validate(spec, registry);
}

function checkCommand(
  args: string[],
  registry: StageRegistry,
  stdout: (l: string) => void,
): number {
  const { values, positionals } = parse({
    args,
    options: { set: SET, help: HELP },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(stdout);
  const plan = loadPlan(
    positionals,
    values.set,
    registry,
  );
  for (const line of formatPlan(plan)) stdout(line);
  stdout("ok");
  return 0;
}

async function runCommand(
  args: string[],
  registry: StageRegistry,
  options: MainOptions,
  stdout: (l: string) => void,
): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: {
      set: SET,
      out: { type: "string" },
      quiet: { type: "boolean" },
      help: HELP,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(stdout);
  const plan = loadPlan(
    positionals,
    values.set,
    registry,
  );
  const name = basename(positionals[0], extname(positionals[0]));
  const outDir = values.out ?? join("runs", name);
  const controller = new AbortController();
  const onInterrupt = () => {
    if (controller.signal.aborted) Deno.exit(130);
    controller.abort();
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    const { manifest } = await runPlan(plan, {
      outDir,
      gpu: options.gpu,
      progress: options.progress ?? (!values.quiet && Deno.stderr.isTerminal()),
      signal: controller.signal,
    });
    const outputs = manifest.outputs;
    const list = outputs.length ? `: ${outputs.join(", ")}` : "";
    stdout(
      `wrote ${outputs.length} output${outputs.length === 1 ? "" : "s"} to ${outDir}${list}`,
    );
    stdout(`manifest: ${join(outDir, MANIFEST)}`);
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

async function stagesCommand(
  args: string[],
  registry: StageRegistry,
  stdout: (l: string) => void,
): Promise<number> {
  const { values, positionals } = parse({
    args,
    options: {
      markdown: { type: "boolean" },
      write: { type: "string" },
      help: HELP,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return help(stdout);
  if (positionals.length) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[0])}`,
    );
  }
  if (typeof values.write === "string") {
    await Deno.writeTextFile(values.write, stagesMarkdown(registry));
    stdout(`wrote ${values.write}`);
  } else {
    stdout(
      (values.markdown ? stagesMarkdown(registry) : stagesText(registry))
        .trimEnd(),
    );
  }
  return 0;
}

function help(stdout: (l: string) => void): number {
  stdout(USAGE);
  return 0;
}

if (import.meta.main) {
  await import("../stages/mod.ts");
  Deno.exit(await main(Deno.args));
}
