import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { OutputFolder } from "./output.ts";

Deno.test("writeOutput renames a finished file into place", async () => {
  const dir = await Deno.makeTempDir();
  const out = new OutputFolder(dir);
  let tmpSeen = "";
  const final = await out.write("sub/a.txt", async (tmp) => {
    tmpSeen = tmp;
    await Deno.writeTextFile(tmp, "x");
  });
  equal(final, join(dir, "sub/a.txt"));
  equal(tmpSeen, join(dir, "sub", `.a.txt.partial-${Deno.pid}`));
  equal(await Deno.readTextFile(final), "x");
  deepEqual([...Deno.readDirSync(join(dir, "sub"))].map((e) => e.name), [
    "a.txt",
  ]);
  deepEqual(out.written, ["sub/a.txt"]);
});

Deno.test("writeOutput works for folders and replaces an old one", async () => {
  const dir = await Deno.makeTempDir();
  const out = new OutputFolder(dir);
  for (const name of ["old", "new"]) {
    await out.write("x.zarr", async (tmp) => {
      await Deno.mkdir(join(tmp, name), { recursive: true });
    });
  }
  deepEqual([...Deno.readDirSync(join(dir, "x.zarr"))].map((e) => e.name), [
    "new",
  ]);
});

Deno.test("a write that throws midway leaves no final file and no partial", async () => {
  const dir = await Deno.makeTempDir();
  const out = new OutputFolder(dir);
  await rejects(
    out.write("a.txt", async (tmp) => {
      await Deno.writeTextFile(tmp, "half");
      throw new Error("boom");
    }),
    /boom/,
  );
  deepEqual([...Deno.readDirSync(dir)], []);
  deepEqual(out.written, []);
});

Deno.test("a write finishing after the run aborted is discarded", async () => {
  const dir = await Deno.makeTempDir();
  const out = new OutputFolder(dir);
  await rejects(
    out.write("a.txt", async (tmp) => {
      await Deno.writeTextFile(tmp, "late");
      out.aborted = true;
    }),
    /Run aborted/,
  );
  deepEqual([...Deno.readDirSync(dir)], []);
});

Deno.test("writeOutput rejects paths outside the output folder", async () => {
  const out = new OutputFolder(await Deno.makeTempDir());
  for (const bad of ["/etc/x", "../x", "a/../../x", "."]) {
    await rejects(
      out.write(bad, () => Promise.resolve()),
      /not inside the output folder/,
    );
  }
  ok(true);
});
