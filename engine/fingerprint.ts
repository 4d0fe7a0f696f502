/**
 * Node fingerprints: what decides whether work an earlier run left in the
 * output folder (`.work/NODE`) can be reused by this one.
 *
 * A node's fingerprint is a SHA-256 over its stage name and version, its
 * resolved parameters, the size and modification time of the files its path
 * parameters name, and the fingerprints of the nodes that feed it, by input
 * port. Change anything upstream (a parameter, a weight file, the input
 * volume's folder) and every node below gets a new fingerprint.
 *
 * @module
 */

import type { Plan, PlanNode } from "./validate.ts";

/**
 * Fingerprints of every node of a plan, by node id.
 *
 * @example
 * ```ts ignore
 * const prints = await fingerprints(plan);
 * console.log(prints.get("member1"));
 * ```
 */
export async function fingerprints(plan: Plan): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const node of plan.nodes) {
    const inputs = Object.fromEntries(
      Object.entries(node.inputs).map(([port, e]) => [port, `${out.get(e.node)}.${e.port}`]),
    );
    const text = stableJson({
      stage: node.stage.name,
      version: node.stage.version,
      params: node.params,
      files: await fileStamps(node),
      inputs,
    });
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
    out.set(
      node.id,
      [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join(""),
    );
  }
  return out;
}

/** Size and modification time of each path parameter's file or folder. */
async function fileStamps(node: PlanNode): Promise<Record<string, string>> {
  const stamps: Record<string, string> = {};
  for (const name of node.stage.pathParams ?? []) {
    const path = node.params[name];
    if (typeof path !== "string") continue;
    try {
      const info = await Deno.stat(path);
      stamps[name] = `${info.size}:${info.mtime?.getTime() ?? 0}`;
    } catch {
      stamps[name] = "missing";
    }
  }
  return stamps;
}

/** JSON with object keys sorted, so equal values give equal text. */
export function stableJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v) =>
      v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]))
        : v,
  );
}
