/**
 * Checks a {@linkcode PipelineSpec} against the stage registry and turns it
 * into a {@linkcode Plan}: stages exist, parameters parse (defaults applied,
 * paths resolved and checked), every connection names a real node and port
 * of a matching kind, required inputs are connected, and there is no cycle.
 * The first problem found throws a one-line `UserError` that names the file,
 * line and node. Nothing is computed and no GPU is touched.
 *
 * @module
 */

import * as v from "valibot";
import { isAbsolute, normalize, resolve } from "node:path";
import { q } from "../data/errors.ts";
import type { StageRegistry } from "../stages/registry.ts";
import type { PortSpec, Stage } from "../stages/types.ts";
import { fail, type Loc, type NodeSpec, type PipelineSpec } from "./pipeline.ts";
import { describeParam, formatValue } from "./schema.ts";

/** An upstream output feeding an input port. */
export interface Edge {
  node: string;
  port: string;
}

/** A validated node, ready to run. */
export interface PlanNode {
  id: string;
  stage: Stage;
  /** Parsed parameters: defaults applied, input paths absolute. */
  params: Record<string, unknown>;
  /** Connected inputs by input port name. */
  inputs: Record<string, Edge>;
}

/** A validated pipeline in run order. */
export interface Plan {
  spec: PipelineSpec;
  /** Nodes in topological order (file order among nodes that are ready). */
  nodes: PlanNode[];
}

/**
 * Validates a pipeline and returns its plan; throws a `UserError` on the
 * first problem.
 *
 * @example
 * ```ts ignore
 * const plan = validate(loadPipeline("pipelines/quickstart.yaml"), registry);
 * console.log(formatPlan(plan).join("\n"));
 * ```
 */
export function validate(spec: PipelineSpec, registry: StageRegistry): Plan {
  const nodes = new Map<string, PlanNode>();
  const missing: MissingPath[] = [];
  for (const node of spec.nodes.values()) {
    const stage = stageOf(node, registry);
    nodes.set(node.id, {
      id: node.id,
      stage,
      params: paramsOf(node, stage, missing),
      inputs: {},
    });
  }
  reportMissing(missing);
  for (const node of spec.nodes.values()) connect(node, nodes, spec);
  return { spec, nodes: topoOrder(spec, nodes) };
}

function stageOf(node: NodeSpec, registry: StageRegistry): Stage {
  if (!node.stage) {
    fail(
      node.loc,
      `missing "stage" (valid: ${registry.names().join(", ")})`,
      node.id,
    );
  }
  const stage = registry.get(node.stage.value);
  if (!stage) {
    const valid = registry.names().join(", ");
    fail(
      node.stage.loc,
      `unknown stage ${q(node.stage.value)} (valid: ${valid})`,
      node.id,
    );
  }
  return stage;
}

/** An input path that does not exist, found while validating. */
interface MissingPath {
  loc: Loc;
  node: string;
  message: string;
  path: string;
  hint?: string;
}

/**
 * One error for every missing input path: a single one reads as before; several
 * (an ensemble without its weights) are listed together, with the stages' hints
 * on where the files come from.
 */
function reportMissing(missing: MissingPath[]): void {
  if (missing.length === 0) return;
  const hints = [...new Set(missing.map((m) => m.hint).filter(Boolean))];
  const tail = hints.length ? `; ${hints.join("; ")}` : "";
  if (missing.length === 1) fail(missing[0].loc, missing[0].message + tail, missing[0].node);
  const list = missing.map((m) => `${m.node}: ${q(m.path)}`).join(", ");
  fail(missing[0].loc, `${missing.length} input files are missing (${list})${tail}`);
}

function paramsOf(node: NodeSpec, stage: Stage, missing: MissingPath[]): Record<string, unknown> {
  const entries = stage.params.entries;
  const names = Object.keys(entries);
  const raw: Record<string, unknown> = {};
  for (const [name, { value, loc }] of node.with) {
    if (!(name in entries)) {
      const valid = names.length ? names.join(", ") : "none";
      fail(
        loc,
        `unknown parameter ${q(name)} for stage ${q(stage.name)} (valid: ${valid})`,
        node.id,
      );
    }
    const result = v.safeParse(entries[name], value);
    if (!result.success) {
      fail(loc, badParam(name, entries[name], value, result.issues), node.id);
    }
    raw[name] = value;
  }
  const result = v.safeParse(stage.params, raw);
  if (!result.success) {
    const name = String(result.issues[0].path?.[0]?.key ?? "");
    const info = describeParam(name, entries[name]);
    const loc = node.stage?.loc ?? node.loc;
    if (!(name in raw)) {
      fail(
        loc,
        `missing parameter ${q(name)} (must be ${info.expects})`,
        node.id,
      );
    }
    fail(loc, `invalid parameters: ${result.issues[0].message}`, node.id);
  }
  const params = result.output as Record<string, unknown>;
  for (const name of stage.pathParams ?? []) {
    const set = node.with.get(name);
    if (typeof params[name] !== "string" || params[name] === "") continue;
    // A path relative to another path parameter (weights in weights_dir) resolves against it.
    const baseParam = stage.pathBase?.[name];
    const base = baseParam && typeof params[baseParam] === "string"
      ? resolve(node.with.get(baseParam)?.loc.dir ?? node.loc.dir, params[baseParam] as string)
      : set?.loc.dir ?? node.loc.dir;
    const path = resolve(base, params[name] as string);
    if (!exists(path)) {
      missing.push({
        loc: set?.loc ?? node.stage?.loc ?? node.loc,
        node: node.id,
        message: `parameter ${q(name)} is ${q(params[name])} but ${q(path)} does not exist`,
        path,
        hint: stage.missingPathHint,
      });
    }
    params[name] = path;
  }
  for (const name of stage.outputParams ?? []) {
    const value = params[name];
    if (typeof value !== "string") continue;
    const norm = normalize(value);
    if (isAbsolute(value) || norm === ".." || norm.startsWith("../")) {
      const loc = node.with.get(name)?.loc ?? node.stage?.loc ?? node.loc;
      fail(
        loc,
        `parameter ${q(name)} must be a path inside the output folder, got ${q(value)}`,
        node.id,
      );
    }
    params[name] = norm;
  }
  return params;
}

function badParam(
  name: string,
  schema: unknown,
  value: unknown,
  issues: readonly v.BaseIssue<unknown>[],
): string {
  const info = describeParam(name, schema);
  const issue = issues[0];
  if (issue.kind === "validation" && issue.type === "check") {
    return `parameter ${q(name)} is invalid: ${issue.message}, got ${formatValue(value)}`;
  }
  return `parameter ${q(name)} must be ${info.expects}, got ${formatValue(value)}`;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

function connect(
  node: NodeSpec,
  nodes: Map<string, PlanNode>,
  spec: PipelineSpec,
): void {
  const plan = nodes.get(node.id)!;
  const stage = plan.stage;
  const inputNames = Object.keys(stage.inputs);
  for (const ref of node.from?.refs ?? []) {
    const port = ref.port ?? inputNames[0];
    if (port === undefined) {
      fail(ref.loc, `stage ${q(stage.name)} takes no inputs`, node.id);
    }
    const want = stage.inputs[port];
    if (!want) {
      fail(
        ref.loc,
        `stage ${q(stage.name)} has no input ${q(port)} (inputs: ${inputNames.join(", ")})`,
        node.id,
      );
    }
    const [upId, upPort] = splitRef(ref.ref);
    const up = nodes.get(upId);
    if (!up) {
      const ids = [...spec.nodes.keys()].join(", ");
      fail(
        ref.loc,
        `from ${q(ref.ref)} names no node (nodes: ${ids})`,
        node.id,
      );
    }
    const outNames = Object.keys(up.stage.outputs);
    const outPort = upPort ?? outNames[0];
    const give = up.stage.outputs[outPort];
    if (!give) {
      const outs = outNames.length ? outNames.join(", ") : "none";
      fail(
        ref.loc,
        `node ${q(upId)} has no output ${q(outPort)} (outputs: ${outs})`,
        node.id,
      );
    }
    if (!compatible(want, give)) {
      fail(
        ref.loc,
        `input ${q(port)} wants ${kindText(want, give)} but ${q(ref.ref)} gives ${
          kindText(give, want)
        }`,
        node.id,
      );
    }
    plan.inputs[port] = { node: upId, port: outPort };
  }
  for (const [port, spec] of Object.entries(stage.inputs)) {
    if (spec.optional || plan.inputs[port]) continue;
    const loc = node.from?.loc ?? node.stage?.loc ?? node.loc;
    fail(
      loc,
      `input ${q(port)} of stage ${q(stage.name)} is not connected`,
      node.id,
    );
  }
}

function splitRef(ref: string): [string, string | undefined] {
  const dot = ref.indexOf(".");
  return dot < 0 ? [ref, undefined] : [ref.slice(0, dot), ref.slice(dot + 1)];
}

function compatible(want: PortSpec, give: PortSpec): boolean {
  if (want.kind !== give.kind) return false;
  return !want.dtype || !give.dtype || want.dtype === give.dtype;
}

/** "tiles", or "tiles (f32)" when the dtypes are what differs. */
function kindText(port: PortSpec, other: PortSpec): string {
  return port.kind === other.kind && port.dtype ? `${port.kind} (${port.dtype})` : port.kind;
}

/** Kahn's algorithm, choosing the earliest node in file order among the ready ones. */
function topoOrder(
  spec: PipelineSpec,
  nodes: Map<string, PlanNode>,
): PlanNode[] {
  const ids = [...nodes.keys()];
  const deps = new Map(
    ids.map((id) => [id, new Set(upstream(nodes.get(id)!))]),
  );
  const order: PlanNode[] = [];
  const done = new Set<string>();
  while (order.length < ids.length) {
    const next = ids.find((id) => !done.has(id) && [...deps.get(id)!].every((d) => done.has(d)));
    if (next === undefined) {
      throw cycleError(
        spec,
        ids.filter((id) => !done.has(id)),
        deps,
      );
    }
    done.add(next);
    order.push(nodes.get(next)!);
  }
  return order;
}

function upstream(node: PlanNode): string[] {
  return Object.values(node.inputs).map((e) => e.node);
}

/** Finds one cycle among the nodes that could not be ordered and names it in data-flow order. */
function cycleError(
  spec: PipelineSpec,
  left: string[],
  deps: Map<string, Set<string>>,
): Error {
  // Walk upstream from the first stuck node until a node repeats.
  const path: string[] = [];
  let id = left[0];
  while (!path.includes(id)) {
    path.push(id);
    id = [...deps.get(id)!].find((d) => left.includes(d))!;
  }
  const cycle = path.slice(path.indexOf(id)).reverse();
  const first = left.find((n) => cycle.includes(n))!;
  const start = cycle.indexOf(first);
  const names = [...cycle.slice(start), ...cycle.slice(0, start), first];
  const node = spec.nodes.get(first)!;
  const loc: Loc = node.from?.loc ?? node.loc;
  try {
    fail(loc, `cycle: ${names.join(" -> ")}`);
  } catch (e) {
    return e as Error;
  }
}

/**
 * The plan as lines of text: one node a line, with its stage, inputs and
 * parameters, in run order.
 */
export function formatPlan(plan: Plan): string[] {
  const { spec } = plan;
  const bases = spec.files.slice(1);
  const head = `plan: ${spec.file}${
    bases.length ? ` (extends ${bases.join(" -> ")})` : ""
  }, ${plan.nodes.length} nodes`;
  const width = Math.max(0, ...plan.nodes.map((n) => n.id.length));
  const lines = [head];
  plan.nodes.forEach((node, i) => {
    const from = Object.entries(node.inputs).map(([port, e]) => `${port}<-${e.node}.${e.port}`);
    const params = Object.entries(node.params).map(([k, val]) => `${k}=${formatValue(val)}`);
    const parts = [
      `${node.stage.name}@${node.stage.version}`,
      ...from,
      ...params,
    ];
    lines.push(
      `  ${String(i + 1).padStart(2)}. ${node.id.padEnd(width)}  ${parts.join(" ")}`,
    );
  });
  if (spec.overrides.length) lines.push(`  --set ${spec.overrides.join(" ")}`);
  return lines;
}
