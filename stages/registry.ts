/**
 * The stage registry: the one explicit table from the names used in
 * pipeline YAML (`stage: tile_crop`) to {@linkcode Stage} records.
 *
 * `stages/mod.ts` registers every stage in the default registry; the CLI
 * imports it. Tests build their own {@linkcode StageRegistry} with fakes.
 *
 * @module
 */

import type { Stage } from "./types.ts";

/** A table of stages by name. */
export class StageRegistry {
  #stages = new Map<string, Stage>();

  /**
   * Adds a stage; a second stage with the same name is a bug and throws.
   *
   * @example
   * ```ts
   * import * as v from "valibot";
   * import { StageRegistry } from "./registry.ts";
   * const registry = new StageRegistry();
   * registry.register({
   *   name: "noop", version: "1", description: "Does nothing",
   *   params: v.object({}), inputs: {}, outputs: {},
   *   run: () => Promise.resolve({}),
   * });
   * console.assert(registry.get("noop")?.name === "noop");
   * ```
   */
  register<P>(stage: Stage<P>): void {
    if (this.#stages.has(stage.name)) {
      throw new Error(
        `Stage ${JSON.stringify(stage.name)} is registered twice`,
      );
    }
    this.#stages.set(stage.name, stage as unknown as Stage);
  }

  /** Returns the stage with this name, or undefined. */
  get(name: string): Stage | undefined {
    return this.#stages.get(name);
  }

  /** All stage names, sorted. */
  names(): string[] {
    return [...this.#stages.keys()].sort();
  }
}

/** The process-wide registry that `stages/mod.ts` fills. */
export const registry: StageRegistry = new StageRegistry();

/** Registers a stage in the default registry. */
export function registerStage<P>(stage: Stage<P>): void {
  registry.register(stage);
}

/** Returns a stage of the default registry by name, or undefined. */
export function getStage(name: string): Stage | undefined {
  return registry.get(name);
}

/** All stage names of the default registry, sorted. */
export function stageNames(): string[] {
  return registry.names();
}
