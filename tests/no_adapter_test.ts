/** Without a WebGPU adapter, a run stops with one line that names the fix. */

import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

Deno.test("no adapter: one line naming the fix, exit 1, no complete outputs", async () => {
  const out = await Deno.makeTempDir({ prefix: "ink-noadapter-" });
  // No adapter exists for this backend on Linux, which is what a machine without one sees.
  const res = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}engine/cli.ts`,
      "run",
      `${ROOT}pipelines/quickstart.yaml`,
      "--out",
      out,
      "--quiet",
    ],
    env: { DENO_WEBGPU_BACKEND: "dx12", RUST_BACKTRACE: "1" },
    stdout: "null",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(res.stderr).trimEnd().split("\n");
  assert.equal(res.code, 1);
  assert.deepEqual(lines, [
    "error: No WebGPU adapter found: install a Vulkan driver (for example `apt-get install mesa-vulkan-drivers`) or run on a machine with a GPU",
  ]);
  const manifest = JSON.parse(await Deno.readTextFile(`${out}/manifest.json`));
  assert.equal(manifest.status, "failed");
  const files = [...Deno.readDirSync(out)].map((e) => e.name);
  assert.deepEqual(files, ["manifest.json"]);
});
