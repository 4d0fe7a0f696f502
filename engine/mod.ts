/**
 * The pipeline engine: reads pipeline YAML (with `extends` and `--set`),
 * validates it against the stage registry, plans it, and runs it with
 * streaming between stages, atomic outputs, progress bars and a manifest.
 *
 * ```ts ignore
 * import { loadPipeline, runPlan, validate } from "./engine/mod.ts";
 * import { registry } from "./stages/registry.ts";
 * import "./stages/mod.ts";
 *
 * const plan = validate(loadPipeline("pipelines/quickstart.yaml"), registry);
 * const { manifest } = await runPlan(plan, { outDir: "runs/quickstart" });
 * ```
 *
 * @module
 */

export { main, type MainOptions, USAGE } from "./cli.ts";
export { STAGES_DOC, stagesMarkdown, stagesText } from "./docs.ts";
export { APP_NAME, APP_VERSION, type Manifest, type ManifestNode } from "./manifest.ts";
export { OutputFolder } from "./output.ts";
export {
  applySets,
  type FromRef,
  loadPipeline,
  type Loc,
  type Located,
  type NodeSpec,
  parseSet,
  type PipelineSpec,
  type SetArg,
  where,
} from "./pipeline.ts";
export { ProgressBoard, type ProgressState } from "./progress.ts";
export { INTERRUPTED, MANIFEST, type RunOptions, runPlan, type RunResult } from "./run.ts";
export { describeParam, describeParams, formatValue, type ParamInfo } from "./schema.ts";
export { teeBatches } from "./tee.ts";
export { type Edge, formatPlan, type Plan, type PlanNode, validate } from "./validate.ts";
