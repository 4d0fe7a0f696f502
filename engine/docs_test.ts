import { equal } from "node:assert/strict";
import "../stages/mod.ts";
import { registry } from "../stages/registry.ts";
import { STAGES_DOC, stagesMarkdown } from "./docs.ts";

Deno.test("docs/stages.md matches the stage registry", async () => {
  const path = new URL(`../${STAGES_DOC}`, import.meta.url);
  const written = await Deno.readTextFile(path).catch(() => "");
  equal(
    written === stagesMarkdown(registry),
    true,
    `${STAGES_DOC} is out of date: run \`deno task docs\``,
  );
});
