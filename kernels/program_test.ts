import assert from "node:assert/strict";
import { getGpu } from "./device.ts";
import { expand, f32bits, grid, KernelCache } from "./program.ts";
import { downloadTensor, emptyTensor } from "./tensor.ts";

Deno.test("placeholders expand from a closed set and unknown ones are errors", () => {
  assert.equal(expand("a {{WG}} b {{T}}", { WG: 64, T: "f32" }, "k"), "a 64 b f32");
  assert.throws(
    () => expand("{{X}}", {}, "k"),
    /Kernel "k" uses placeholder \{\{X\}\} with no value/,
  );
});

Deno.test("cache keys are readable and independent of define order", () => {
  const a = KernelCache.key({ name: "conv", source: "", defines: { B: 1, A: "x" } });
  const b = KernelCache.key({ name: "conv", source: "", defines: { A: "x", B: 1 } });
  assert.equal(a, "conv a=x b=1 wg=64");
  assert.equal(a, b);
});

Deno.test("dispatch grids stay under the per-dimension limit", () => {
  assert.deepEqual(grid(100, 64, 65535), [2, 1]);
  const [x, y] = grid(65535 * 64 * 3 + 5, 64, 65535);
  assert.ok(x <= 65535 && y <= 65535 && x * y * 64 >= 65535 * 64 * 3 + 5);
});

const FILL = `
struct Params { n: u32, value: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i < p.n) { out[i] = p.value + f32(i); }
}`;

Deno.test("a dispatch larger than 65535 workgroups covers every element", async () => {
  const gpu = await getGpu();
  const n = 65535 * 4 + 17; // needs a two-dimensional grid at 1 invocation per workgroup
  const t = emptyTensor(gpu, [n], "f32");
  const kernel = gpu.kernels.get({ name: "test_fill", source: FILL, defines: { WG: 1 } });
  const rec = gpu.kernels.recorder();
  rec.dispatch({ kernel, uniforms: [n, f32bits(0.5)], bindings: [t], invocations: n });
  rec.submit();
  const got = await downloadTensor(t) as Float32Array;
  for (const i of [0, 1, 65535, 65536, n - 1]) assert.equal(got[i], 0.5 + i);
  t.release();
  assert.ok(gpu.kernels.keys().includes("test_fill wg=1"));
});

Deno.test("a kernel that does not compile fails the next sync with a GpuError naming it", async () => {
  const gpu = await getGpu();
  gpu.kernels.get({
    name: "broken_on_purpose",
    source: "@compute @workgroup_size({{WG}}) fn main() { let target = 1u; }",
  });
  await assert.rejects(
    () => gpu.sync(),
    (e: Error) => e.name === "GpuError" && /broken_on_purpose/.test(e.message),
  );
  await gpu.sync(); // reported once
});
