import assert from "node:assert/strict";
import { TESTDATA } from "./_test_util.ts";
import { loadCheckpoint } from "./load.ts";

Deno.test("loadCheckpoint tells the formats apart by content", async () => {
  const dir = await Deno.makeTempDir();
  const cases = [
    ["small.pth", "a.bin"],
    ["small.safetensors", "b.pth"],
    ["small.safetensors", "c"],
    ["small_zip64.pth", "d.safetensors"],
  ];
  for (const [source, name] of cases) {
    await Deno.copyFile(TESTDATA + source, `${dir}/${name}`);
    const dict = await loadCheckpoint(`${dir}/${name}`);
    assert.equal(dict.path, `${dir}/${name}`);
    assert.equal(dict.size, 21, name);
    assert.deepEqual([...await dict.get("shared_c")!.data()], [0.25, 0.75, 1.25, 1.75, 2.25, 2.75]);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("loadCheckpoint explains what it cannot read", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
  await Deno.writeTextFile(`${dir}/notes.pth`, "hello");
  await Deno.writeTextFile(`${dir}/notes.safetensors`, "hello, world");
  const cases = [
    [
      `${TESTDATA}legacy.pth`,
      "legacy PyTorch format (before 1.6), re-save it with torch.save in PyTorch 1.6 or newer",
    ],
    [`${TESTDATA}truncated.pth`, "truncated zip file (no central directory)"],
    [`${dir}/notes.txt`, "not a PyTorch or safetensors checkpoint"],
    [`${dir}/notes.pth`, "not a zip file"],
    [`${dir}/notes.safetensors`, "not a valid safetensors file (bad header size)"],
    [`${dir}/missing.pth`, "file not found"],
    [dir, "not a file"],
  ];
  for (const [path, why] of cases) {
    await assert.rejects(loadCheckpoint(path), {
      name: "UserError",
      message: `Cannot read "${path}": ${why}`,
    });
  }
  await Deno.remove(dir, { recursive: true });
});
