/**
 * Reads pipeline YAML files into a {@linkcode PipelineSpec}: nodes with
 * their `stage`, `from` and `with` fields, each field remembering the file
 * and line it was written on, after following the `extends` chain and
 * applying `--set` overrides. Nothing here knows about stages; see
 * `validate.ts` for that.
 *
 * @module
 */

import { dirname, isAbsolute, relative, resolve } from "node:path";
import { isMap, isScalar, LineCounter, type Node, type Pair, parseDocument } from "yaml";
import { parse as parseYaml } from "yaml";
import { q, UserError } from "../data/errors.ts";

/** Where a value was written: a file and line, or a `--set` argument. */
export interface Loc {
  /** The file as shown in messages (as given, or relative to the cwd). */
  file: string;
  /** 1-based line; 0 for `--set`. */
  line: number;
  /** Absolute folder that relative paths written here resolve against. */
  dir: string;
  /** The `--set` argument, when the value came from the command line. */
  set?: string;
}

/** A value and where it was written. */
export interface Located<T> {
  value: T;
  loc: Loc;
}

/** One connection in `from`: a node (and output port) into an input port. */
export interface FromRef {
  /** The input port; undefined for a bare `from: node` (the stage's first input). */
  port?: string;
  /** As written: `node` or `node.output`. */
  ref: string;
  loc: Loc;
}

/** A node after `extends` merging and `--set`. */
export interface NodeSpec {
  id: string;
  /** Where the node was last written (the child file for an overridden node). */
  loc: Loc;
  stage?: Located<string>;
  from?: { loc: Loc; refs: FromRef[] };
  with: Map<string, Located<unknown>>;
}

/** A pipeline file with its `extends` chain merged. */
export interface PipelineSpec {
  /** The pipeline file as given. */
  file: string;
  /** Every file read, the given one first, then its bases, as shown in messages. */
  files: string[];
  /** Absolute folder of the given file. */
  dir: string;
  description?: string;
  /** Nodes in file order (inherited nodes first). */
  nodes: Map<string, NodeSpec>;
  /** The `--set` arguments applied, in order. */
  overrides: string[];
}

/** Formats a location for the start of an error message. */
export function where(loc: Loc): string {
  return loc.set !== undefined ? `--set ${q(loc.set)}` : `${loc.file}:${loc.line}`;
}

/** Throws a one-line error about a location, optionally naming a node. */
export function fail(loc: Loc, problem: string, node?: string): never {
  const prefix = node === undefined ? "" : `node ${q(node)}: `;
  throw new UserError(`${where(loc)}: ${prefix}${problem}`);
}

const TOP_KEYS = ["description", "extends", "nodes"];
const NODE_KEYS = ["stage", "from", "with", "remove"];
const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A node as written in one file, before merging. */
interface FileNode {
  loc: Loc;
  remove?: Loc;
  stage?: Located<string>;
  from?: { loc: Loc; refs: FromRef[] };
  with: Map<string, Located<unknown>>;
}

interface FileSpec {
  description?: string;
  extends?: Located<string>;
  nodes: Map<string, FileNode>;
}

/**
 * Reads a pipeline file and its `extends` chain.
 *
 * @example
 * ```ts ignore
 * const spec = loadPipeline("pipelines/quickstart.yaml");
 * console.log([...spec.nodes.keys()]);
 * ```
 */
export function loadPipeline(path: string): PipelineSpec {
  const abs = resolve(path);
  if (!isFile(abs)) throw new UserError(`Pipeline file ${q(path)} not found`);
  const files: string[] = [];
  const merged = loadChain(abs, path, [], files);
  return {
    file: path,
    files,
    dir: dirname(abs),
    description: merged.description,
    nodes: merged.nodes,
    overrides: [],
  };
}

function loadChain(
  abs: string,
  shown: string,
  chain: string[],
  files: string[],
): { description?: string; nodes: Map<string, NodeSpec> } {
  files.push(shown);
  const spec = parseFile(Deno.readTextFileSync(abs), shown, dirname(abs));
  const nodes = new Map<string, NodeSpec>();
  let description: string | undefined;
  if (spec.extends) {
    const ext = spec.extends;
    const baseAbs = resolve(ext.loc.dir, ext.value);
    const seen = [...chain, abs];
    if (seen.includes(baseAbs)) {
      const names = [...seen.slice(seen.indexOf(baseAbs)), baseAbs].map(
        display,
      );
      fail(ext.loc, `extends cycle: ${names.join(" -> ")}`);
    }
    if (!isFile(baseAbs)) {
      fail(ext.loc, `extends ${q(ext.value)} but ${q(baseAbs)} does not exist`);
    }
    const base = loadChain(baseAbs, display(baseAbs), seen, files);
    description = base.description;
    for (const [id, node] of base.nodes) nodes.set(id, node);
  }
  description = spec.description ?? description;
  for (const [id, node] of spec.nodes) {
    const inherited = nodes.get(id);
    if (node.remove) {
      if (!inherited) {
        fail(node.remove, `"remove" but no inherited node ${q(id)}`, id);
      }
      nodes.delete(id);
      continue;
    }
    if (!inherited) {
      nodes.set(id, {
        id,
        loc: node.loc,
        stage: node.stage,
        from: node.from,
        with: node.with,
      });
      continue;
    }
    // A node that swaps its stage starts from empty parameters: the base's
    // belong to the stage it replaced.
    const swapped = node.stage !== undefined && node.stage.value !== inherited.stage?.value;
    const params = new Map(swapped ? [] : inherited.with);
    for (const [k, val] of node.with) params.set(k, val);
    nodes.set(id, {
      id,
      loc: node.loc,
      stage: node.stage ?? inherited.stage,
      from: node.from ?? inherited.from,
      with: params,
    });
  }
  return { description, nodes };
}

/** Shows an absolute path relative to the cwd when it lies below it. */
function display(abs: string): string {
  const rel = relative(Deno.cwd(), abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Parses one pipeline file's text (no `extends` following). */
function parseFile(text: string, file: string, dir: string): FileSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const loc = (node: Node | null | undefined): Loc => ({
    file,
    dir,
    line: node?.range ? lineCounter.linePos(node.range[0]).line : 1,
  });
  if (doc.errors.length > 0) {
    const err = doc.errors[0];
    const line = err.linePos?.[0].line ?? 1;
    const message = err.message.split("\n")[0].replace(
      / at line \d+, column \d+:?$/,
      "",
    );
    throw new UserError(`${file}:${line}: ${message}`);
  }
  const top = doc.contents;
  if (!isMap(top)) {
    fail(loc(top), `a pipeline must be a mapping with "nodes"`);
  }
  const spec: FileSpec = { nodes: new Map() };
  let sawNodes = false;
  for (const pair of top.items as Pair<Node, Node | null>[]) {
    const key = keyOf(pair, loc);
    const at = loc(pair.key);
    if (key === "description") {
      if (!isScalar(pair.value) || typeof pair.value.value !== "string") {
        fail(loc(pair.value ?? pair.key), `"description" must be a string`);
      }
      spec.description = pair.value.value;
    } else if (key === "extends") {
      if (!isScalar(pair.value) || typeof pair.value.value !== "string") {
        fail(
          loc(pair.value ?? pair.key),
          `"extends" must be a path to a pipeline file`,
        );
      }
      spec.extends = { value: pair.value.value, loc: loc(pair.value) };
    } else if (key === "nodes") {
      sawNodes = true;
      if (!isMap(pair.value)) {
        fail(at, `"nodes" must be a mapping of node id to node`);
      }
      for (const nodePair of pair.value.items as Pair<Node, Node | null>[]) {
        const id = keyOf(nodePair, loc);
        spec.nodes.set(id, parseNode(id, nodePair, loc, doc));
      }
    } else {
      fail(at, `unknown key ${q(key)} (valid: ${TOP_KEYS.join(", ")})`);
    }
  }
  if (!sawNodes && !spec.extends) fail(loc(top), `missing "nodes"`);
  return spec;
}

function keyOf(
  pair: Pair<Node, unknown>,
  loc: (n: Node | null | undefined) => Loc,
): string {
  const key = pair.key;
  if (!isScalar(key) || typeof key.value !== "string") {
    fail(loc(key), `keys must be plain names, got ${q(String(key))}`);
  }
  return key.value;
}

function parseNode(
  id: string,
  pair: Pair<Node, Node | null>,
  loc: (n: Node | null | undefined) => Loc,
  doc: Parameters<Node["toJS"]>[0],
): FileNode {
  const at = loc(pair.key);
  if (!NODE_ID.test(id)) {
    fail(at, `node ids may use only letters, digits, "_" and "-"`, id);
  }
  const value = pair.value;
  if (!isMap(value)) {
    fail(at, `must be a mapping with "stage", "from" and "with"`, id);
  }
  const node: FileNode = { loc: at, with: new Map() };
  for (const field of value.items as Pair<Node, Node | null>[]) {
    const key = keyOf(field, loc);
    const fieldAt = loc(field.key);
    const v = field.value;
    if (key === "stage") {
      if (!isScalar(v) || typeof v.value !== "string") {
        fail(fieldAt, `"stage" must be a stage name`, id);
      }
      node.stage = { value: v.value, loc: loc(v) };
    } else if (key === "from") {
      node.from = { loc: fieldAt, refs: parseFrom(id, v, fieldAt, loc) };
    } else if (key === "with") {
      if (v === null || (isScalar(v) && v.value === null)) continue;
      if (!isMap(v)) {
        fail(fieldAt, `"with" must be a mapping of parameter to value`, id);
      }
      for (const param of v.items as Pair<Node, Node | null>[]) {
        const name = keyOf(param, loc);
        node.with.set(name, {
          value: param.value?.toJS(doc) ?? null,
          loc: loc(param.key),
        });
      }
    } else if (key === "remove") {
      if (!isScalar(v) || v.value !== true) {
        fail(fieldAt, `"remove" must be true`, id);
      }
      node.remove = fieldAt;
    } else {
      fail(
        fieldAt,
        `unknown key ${q(key)} (valid: ${NODE_KEYS.join(", ")})`,
        id,
      );
    }
  }
  if (node.remove && value.items.length > 1) {
    fail(node.remove, `"remove" cannot be combined with other keys`, id);
  }
  return node;
}

function parseFrom(
  id: string,
  v: Node | null,
  at: Loc,
  loc: (n: Node | null | undefined) => Loc,
): FromRef[] {
  const bad = `"from" must be a node id or a mapping of input port to node`;
  if (isScalar(v) && typeof v.value === "string") {
    return [{ ref: v.value, loc: loc(v) }];
  }
  if (!isMap(v)) fail(at, bad, id);
  return (v.items as Pair<Node, Node | null>[]).map((pair) => {
    const port = keyOf(pair, loc);
    const ref = pair.value;
    if (!isScalar(ref) || typeof ref.value !== "string") {
      fail(loc(pair.key), bad, id);
    }
    return { port, ref: ref.value, loc: loc(pair.key) };
  });
}

/** A parsed `--set NODE.PARAM=VALUE` argument. */
export interface SetArg {
  node: string;
  param: string;
  value: unknown;
  raw: string;
}

/**
 * Parses `NODE.PARAM=VALUE`; VALUE is read as YAML (`128` is a number,
 * `[1, 2]` a list, `/x` a string). An empty VALUE is the empty string.
 *
 * @example
 * ```ts
 * import { parseSet } from "./pipeline.ts";
 * const set = parseSet("tiles.tile=128");
 * console.assert(set.node === "tiles" && set.param === "tile" && set.value === 128);
 * ```
 */
export function parseSet(raw: string): SetArg {
  const m = /^(\*|[A-Za-z_][A-Za-z0-9_-]*)\.([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(
    raw,
  );
  if (!m) throw new UserError(`--set ${q(raw)}: expected NODE.PARAM=VALUE`);
  let value: unknown = "";
  if (m[3] !== "") {
    try {
      value = parseYaml(m[3]);
    } catch (e) {
      const message = (e as Error).message.split("\n")[0].replace(
        / at line.*$/,
        "",
      );
      throw new UserError(`--set ${q(raw)}: cannot read the value: ${message}`);
    }
  }
  return { node: m[1], param: m[2], value, raw };
}

/**
 * Applies `--set` overrides to a pipeline (in place). An unknown node is an
 * error; parameters are checked later with the rest (`validate.ts`). Relative
 * paths set here resolve against the current folder. The node `*` sets the
 * parameter on every node whose `with` already names it (for example
 * `--set '*.weights_dir=/data/weights'` for every member of an ensemble).
 */
export function applySets(spec: PipelineSpec, sets: SetArg[]): void {
  for (const set of sets) {
    const loc: Loc = { file: "--set", line: 0, dir: Deno.cwd(), set: set.raw };
    if (set.node === "*") {
      const nodes = [...spec.nodes.values()].filter((n) => n.with.has(set.param));
      if (nodes.length === 0) fail(loc, `no node sets parameter ${q(set.param)}`);
      for (const n of nodes) n.with.set(set.param, { value: set.value, loc });
      spec.overrides.push(set.raw);
      continue;
    }
    const node = spec.nodes.get(set.node);
    if (!node) {
      fail(
        loc,
        `no node ${q(set.node)} (nodes: ${[...spec.nodes.keys()].join(", ")})`,
      );
    }
    node.with.set(set.param, { value: set.value, loc });
    spec.overrides.push(set.raw);
  }
}
