/**
 * Stage reference, generated from the registry: `deno task stages` prints
 * it as text, `deno task docs` writes it to docs/stages.md as Markdown. The
 * parameter words come from {@linkcode describeParams}, the same helper that
 * writes the validation errors, so docs and errors always agree.
 *
 * @module
 */

import type { StageRegistry } from "../stages/registry.ts";
import type { PortSpec, Stage } from "../stages/types.ts";
import { describeParams, formatValue, type ParamInfo } from "./schema.ts";

/** Where the Markdown reference lives, relative to the repository root. */
export const STAGES_DOC = "docs/stages.md";

/**
 * The stage reference as Markdown.
 *
 * @example
 * ```ts
 * import { StageRegistry } from "../stages/registry.ts";
 * import { stagesMarkdown } from "./docs.ts";
 * console.assert(stagesMarkdown(new StageRegistry()).startsWith("# Stages"));
 * ```
 */
export function stagesMarkdown(registry: StageRegistry): string {
  const lines = [
    "# Stages",
    "",
    "<!-- Generated from the stage registry by `deno task docs`; do not edit. -->",
    "",
    "Every stage a pipeline node can name in `stage:`, with its ports and parameters.",
    "Input paths resolve against the folder of the pipeline file that sets them;",
    "output paths are relative to the run's output folder (`--out`).",
  ];
  const names = registry.names();
  if (names.length === 0) lines.push("", "No stages are registered yet.");
  for (const name of names) {
    const stage = registry.get(name)!;
    lines.push(
      "",
      `## \`${stage.name}\` (version ${stage.version})`,
      "",
      ...wrap(stage.description, 100), // deno.json fmt.lineWidth
    );
    lines.push(
      ...portTable("Input", stage.inputs),
      ...portTable("Output", stage.outputs),
    );
    const params = paramRows(stage).map((p) => [
      `\`${p.name}\``,
      p.type,
      p.default,
      p.range,
      p.description,
    ]);
    lines.push(
      ...table(
        ["Parameter", "Type", "Default", "Range", "Description"],
        params,
      ),
    );
  }
  return lines.join("\n") + "\n";
}

/** The stage reference as plain text for a terminal. */
export function stagesText(registry: StageRegistry): string {
  const blocks = registry.names().map((name) => {
    const stage = registry.get(name)!;
    const rows: string[][] = [];
    for (const [port, spec] of Object.entries(stage.inputs)) {
      rows.push([
        "in",
        port,
        portWords(spec) + (spec.optional ? " (optional)" : ""),
        spec.description,
      ]);
    }
    for (const [port, spec] of Object.entries(stage.outputs)) {
      rows.push(["out", port, portWords(spec), spec.description]);
    }
    for (const p of paramRows(stage)) {
      const type = [p.type, p.range].filter(Boolean).join(" ");
      rows.push(["with", p.name, `${type} = ${p.default}`, p.description]);
    }
    const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => r[i].length)));
    const body = rows.map((r) =>
      "  " +
      r.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c)).join("  ").trimEnd()
    );
    return [
      `${stage.name} (version ${stage.version}): ${stage.description}`,
      ...body,
    ].join("\n");
  });
  return blocks.length ? blocks.join("\n\n") + "\n" : "no stages registered\n";
}

interface ParamRow extends ParamInfo {
  default: string;
}

function paramRows(stage: Stage): ParamRow[] {
  return describeParams(stage.params).map((p) => {
    const notes: string[] = [];
    if (stage.pathParams?.includes(p.name)) notes.push("input path");
    if (stage.outputParams?.includes(p.name)) notes.push("output path");
    const description = [
      p.description,
      notes.length ? `(${notes.join(", ")})` : "",
    ]
      .filter(Boolean).join(" ");
    const def = p.hasDefault ? formatValue(p.default) : p.required ? "required" : "none";
    return { ...p, description, default: def };
  });
}

function portTable(title: string, ports: Record<string, PortSpec>): string[] {
  const rows = Object.entries(ports).map(([port, spec]) => [
    `\`${port}\`` + (spec.optional ? " (optional)" : ""),
    spec.kind,
    spec.dtype ?? "",
    spec.shape ?? "",
    spec.range ? `[${spec.range.join(", ")}]` : "",
    spec.description,
  ]);
  return table([title, "Kind", "Dtype", "Shape", "Range", "Description"], rows);
}

/** A Markdown table padded the way `deno fmt` pads it, so formatting leaves it alone. */
function table(head: string[], rows: string[][]): string[] {
  if (rows.length === 0) return [];
  const all = [head, ...rows].map((r) => r.map(cell));
  const widths = head.map((_, i) => Math.max(3, ...all.map((r) => r[i].length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const rule = `| ${widths.map((w) => "-".repeat(w)).join(" | ")} |`;
  return ["", line(all[0]), rule, ...all.slice(1).map(line)];
}

function portWords(spec: PortSpec): string {
  const range = spec.range ? `[${spec.range.join(", ")}]` : "";
  return [spec.kind, spec.dtype, spec.shape, range].filter(Boolean).join(" ");
}

/** Greedy word wrap, as `deno fmt` wraps Markdown prose. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line];
}

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}
