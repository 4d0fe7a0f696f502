import assert from "node:assert/strict";
import { TESTDATA } from "./_test_util.ts";
import { openZip, writeZip } from "./zip.ts";

const NAMES = ["data.pkl", ...Array.from({ length: 19 }, (_, i) => `data/${i}`), "version"];

Deno.test("openZip lists torch.save entries, ZIP64 and DEFLATE ones alike", async () => {
  const stored = await openZip(`${TESTDATA}small.pth`);
  assert.deepEqual([...stored.entries.keys()].sort(), NAMES.map((n) => `small/${n}`).sort());
  const version = new TextDecoder().decode(await stored.read("small/version"));
  assert.equal(version, "3\n");

  const zip64 = await openZip(`${TESTDATA}small_zip64.pth`);
  const deflated = await openZip(`${TESTDATA}small_deflate.pth`);
  assert.ok([...zip64.entries.values()].every((e) => e.method === 0));
  assert.ok([...deflated.entries.values()].some((e) => e.method === 8));
  for (const name of NAMES) {
    const bytes = await stored.read(`small/${name}`);
    assert.deepEqual(await zip64.read(`other_name/${name}`), bytes, name);
    assert.deepEqual(await deflated.read(`small/${name}`), bytes, name);
  }
});

Deno.test("openZip rejects missing, truncated and non-zip files", async () => {
  await assert.rejects(openZip(`${TESTDATA}nope.pth`), {
    name: "UserError",
    message: `Cannot read "${TESTDATA}nope.pth": file not found`,
  });
  await assert.rejects(openZip(`${TESTDATA}truncated.pth`), {
    name: "UserError",
    message: `Cannot read "${TESTDATA}truncated.pth": truncated zip file (no central directory)`,
  });
  await assert.rejects(openZip(`${TESTDATA}small.safetensors`), {
    name: "UserError",
    message: `Cannot read "${TESTDATA}small.safetensors": not a zip file`,
  });
});

Deno.test("openZip reports an entry that runs past the end of the file", async () => {
  const path = await Deno.makeTempFile({ suffix: ".zip" });
  await writeZip(path, [{ name: "a", data: new Uint8Array(10) }]);
  const bytes = await Deno.readFile(path);
  const view = new DataView(bytes.buffer);
  const dirAt = view.getUint32(bytes.length - 22 + 16, true);
  view.setUint32(dirAt + 20, 1000, true); // compressed size
  await Deno.writeFile(path, bytes);
  const zip = await openZip(path);
  await assert.rejects(zip.read("a"), {
    name: "UserError",
    message: `Cannot read "${path}": file is truncated (${bytes.length} bytes)`,
  });
  await Deno.remove(path);
});

Deno.test("writeZip round-trips and aligns data to 64 bytes", async () => {
  const path = await Deno.makeTempFile({ suffix: ".zip" });
  const entries = [
    { name: "a/one", data: new Uint8Array([1, 2, 3]) },
    { name: "a/empty", data: new Uint8Array() },
    { name: "a/big", data: Uint8Array.from({ length: 5000 }, (_, i) => i * 7) },
  ];
  await writeZip(path, entries);
  const zip = await openZip(path);
  const file = await Deno.readFile(path);
  for (const { name, data } of entries) {
    assert.deepEqual(await zip.read(name), data);
    const { headerOffset } = zip.entries.get(name)!;
    const header = new DataView(file.buffer, headerOffset);
    const start = headerOffset + 30 + header.getUint16(26, true) + header.getUint16(28, true);
    assert.equal(start % 64, 0, name);
  }
  await Deno.remove(path);
});
