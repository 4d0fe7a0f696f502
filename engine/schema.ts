/**
 * Reads a valibot parameter schema back into words: one description per
 * parameter that serves both the error messages ("must be an integer >= 1")
 * and the generated stage docs (type, range, default, description).
 *
 * Understood: number, string, boolean, picklist, enum, literal, array,
 * union, optional / nullable / nullish (with defaults), and the pipe items
 * integer, min_value, max_value, gt_value, lt_value, multiple_of,
 * min_length, max_length, length, non_empty, description. Anything else falls back to valibot's
 * own `expects` text.
 *
 * @module
 */

/** The parts of a valibot schema or pipe item this module reads. */
interface Node {
  kind?: string;
  type: string;
  expects?: string | null;
  requirement?: unknown;
  description?: string;
  pipe?: Node[];
  wrapped?: Node;
  default?: unknown;
  options?: unknown;
  item?: Node;
  literal?: unknown;
  entries?: Record<string, Node>;
}

/** One parameter in words. */
export interface ParamInfo {
  name: string;
  /** The type for docs: "integer", "string", `"seed" | "u16"`, "list of integers". */
  type: string;
  /** Allowed range for docs, such as "1 to 4096" or ">= 1"; empty when any. */
  range: string;
  /** The whole requirement for errors: "an integer from 1 to 4096". */
  expects: string;
  /** True when the parameter has no default and may not be omitted. */
  required: boolean;
  /** True when a default is declared (its value is in `default`). */
  hasDefault: boolean;
  default?: unknown;
  description: string;
}

const WRAPPERS = new Set([
  "optional",
  "exact_optional",
  "undefinedable",
  "nullable",
  "nullish",
  "non_optional",
  "non_nullable",
  "non_nullish",
]);

/**
 * Describes every entry of a valibot object schema, in schema order.
 *
 * @example
 * ```ts
 * import * as v from "valibot";
 * import { describeParams } from "./schema.ts";
 * const [tile] = describeParams(v.object({
 *   tile: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 256),
 * }));
 * console.assert(tile.expects === "an integer >= 1" && tile.default === 256);
 * ```
 */
export function describeParams(
  schema: { entries: Record<string, unknown> },
): ParamInfo[] {
  return Object.entries(schema.entries).map(([name, s]) => describeParam(name, s));
}

/** Describes one parameter schema (an entry of an object schema). */
export function describeParam(name: string, schema: unknown): ParamInfo {
  let node = schema as Node;
  let required = true;
  let hasDefault = false;
  let defaultValue: unknown;
  let nullable = false;
  let description = findDescription(node);
  while (WRAPPERS.has(node.type) && node.wrapped) {
    if (
      ["optional", "exact_optional", "undefinedable", "nullish"].includes(
        node.type,
      )
    ) {
      required = false;
    }
    if (["nullable", "nullish"].includes(node.type)) nullable = true;
    if (node.default !== undefined && !hasDefault) {
      hasDefault = true;
      defaultValue = typeof node.default === "function" ? node.default() : node.default;
    }
    node = node.wrapped;
    description ||= findDescription(node);
  }
  const words = phrase(node);
  const orNull = nullable ? " or null" : "";
  return {
    name,
    type: words.type + orNull,
    range: words.range,
    expects: words.expects + orNull,
    required: required && !hasDefault,
    hasDefault,
    default: defaultValue,
    description,
  };
}

/** Formats a value for "got ..." in an error message. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function findDescription(node: Node): string {
  for (const item of node.pipe ?? []) {
    if (item.type === "description" && typeof item.description === "string") {
      return item.description;
    }
  }
  return "";
}

interface Words {
  /** Singular with article: "an integer". */
  article: string;
  /** Type noun: "integer". */
  type: string;
  /** Plural noun phrase: "integers". */
  plural: string;
  range: string;
  /** `${article} ${range}` or just the article phrase. */
  expects: string;
}

function phrase(node: Node): Words {
  const checks = (node.pipe ?? []).filter((p) => p.kind === "validation");
  const bounds = rangeOf(checks);
  const base = baseWords(node, checks);
  const range = [bounds, ...otherChecks(checks)].filter(Boolean).join(", ");
  return {
    ...base,
    range,
    expects: range ? `${base.article} ${range}` : base.article,
    plural: range ? `${base.plural} ${range}` : base.plural,
  };
}

function baseWords(
  node: Node,
  checks: Node[],
): Omit<Words, "range" | "expects"> {
  switch (node.type) {
    case "number": {
      const integer = checks.some((c) => c.type === "integer" || c.type === "safe_integer");
      return integer
        ? { article: "an integer", type: "integer", plural: "integers" }
        : { article: "a number", type: "number", plural: "numbers" };
    }
    case "string":
      return { article: "a string", type: "string", plural: "strings" };
    case "boolean":
      return { article: "true or false", type: "boolean", plural: "booleans" };
    case "picklist":
    case "enum": {
      const options = Array.isArray(node.options)
        ? node.options
        : Object.values(node.options as Record<string, unknown>);
      const list = options.map(formatValue);
      return {
        article: `one of ${list.join(", ")}`,
        type: list.join(" | "),
        plural: `values from ${list.join(", ")}`,
      };
    }
    case "literal": {
      const text = formatValue(node.literal);
      return { article: text, type: text, plural: `${text} values` };
    }
    case "array": {
      const item = node.item ? phrase(node.item) : undefined;
      const plural = item ? item.plural : "values";
      return {
        article: `a list of ${plural}`,
        type: `list of ${plural}`,
        plural: `lists of ${plural}`,
      };
    }
    case "union": {
      const options = (node.options as Node[]).map(phrase);
      return {
        article: options.map((o) => o.expects).join(" or "),
        type: options.map((o) => o.type).join(" | "),
        plural: options.map((o) => o.plural).join(" or "),
      };
    }
    default: {
      const text = node.expects ?? node.type;
      return { article: text, type: text, plural: text };
    }
  }
}

function rangeOf(checks: Node[]): string {
  let lo: string | undefined;
  let hi: string | undefined;
  let loOpen = false;
  let hiOpen = false;
  for (const c of checks) {
    if (c.type === "min_value") lo = String(c.requirement);
    if (c.type === "gt_value") (lo = String(c.requirement)), (loOpen = true);
    if (c.type === "max_value") hi = String(c.requirement);
    if (c.type === "lt_value") (hi = String(c.requirement)), (hiOpen = true);
  }
  if (lo !== undefined && hi !== undefined && !loOpen && !hiOpen) {
    return `from ${lo} to ${hi}`;
  }
  const parts: string[] = [];
  if (lo !== undefined) parts.push(`${loOpen ? ">" : ">="} ${lo}`);
  if (hi !== undefined) parts.push(`${hiOpen ? "<" : "<="} ${hi}`);
  return parts.join(" and ");
}

const RANGE_CHECKS = new Set([
  "integer",
  "safe_integer",
  "min_value",
  "max_value",
  "gt_value",
  "lt_value",
]);

function otherChecks(checks: Node[]): string[] {
  const out: string[] = [];
  for (const c of checks) {
    if (RANGE_CHECKS.has(c.type)) continue;
    if (c.type === "length") out.push(`of length ${c.requirement}`);
    else if (c.type === "min_length") out.push(`of length >= ${c.requirement}`);
    else if (c.type === "max_length") out.push(`of length <= ${c.requirement}`);
    else if (c.type === "non_empty") out.push("not empty");
    else if (c.type === "multiple_of") {
      out.push(`a multiple of ${c.requirement}`);
    } else if (c.expects) out.push(`(${c.expects})`);
  }
  return out;
}
