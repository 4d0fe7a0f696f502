import { deepEqual, equal, match, ok } from "node:assert/strict";
import { join } from "node:path";
import { fakeRegistry, QUICKSTART, tempFiles } from "./_testing.ts";
import { main } from "./cli.ts";

/** Runs `main` with the fake registry and captures its output. */
async function cli(args: string[]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(args, fakeRegistry(), {
    stdout: (l) => stdout.push(l),
    stderr: (l) => stderr.push(l),
    progress: false,
  });
  return { code, stdout, stderr };
}

Deno.test("check prints the plan and ok", async () => {
  const dir = await tempFiles({ "q.yaml": QUICKSTART });
  const file = join(dir, "q.yaml");
  const { code, stdout, stderr } = await cli([
    "check",
    file,
    "--set",
    "tiles.tile=8",
  ]);
  equal(code, 0);
  deepEqual(stderr, []);
  equal(stdout[0], `plan: ${file}, 5 nodes`);
  match(
    stdout[2],
    /^ {3}2\. tiles +tile_crop@2 volume<-input\.volume tile=8 stride=4 /,
  );
  equal(stdout.at(-2), "  --set tiles.tile=8");
  equal(stdout.at(-1), "ok");
});

Deno.test("run writes to --out and says where", async () => {
  const dir = await tempFiles({ "q.yaml": QUICKSTART });
  const out = join(dir, "out");
  const { code, stdout, stderr } = await cli([
    "run",
    join(dir, "q.yaml"),
    "--out",
    out,
    "--quiet",
    "--set=png.name=pred.txt",
  ]);
  equal(code, 0, stderr.join("\n"));
  deepEqual(stdout, [
    `wrote 1 output to ${out}: pred.txt`,
    `manifest: ${out}/manifest.json`,
  ]);
  equal(Deno.readTextFileSync(join(out, "pred.txt")), "3");
});

Deno.test("run defaults to runs/<pipeline name>", async () => {
  const dir = await tempFiles({ "quick.yaml": QUICKSTART });
  const cwd = Deno.cwd();
  Deno.chdir(dir);
  try {
    const { code, stdout } = await cli(["run", "quick.yaml"]);
    equal(code, 0);
    equal(stdout[0], "wrote 1 output to runs/quick: out.txt");
    ok(Deno.statSync(join(dir, "runs/quick/manifest.json")).isFile);
  } finally {
    Deno.chdir(cwd);
  }
});

Deno.test("user errors print one line and exit 1", async (t) => {
  const dir = await tempFiles({ "q.yaml": QUICKSTART });
  const file = join(dir, "q.yaml");
  const cases: [string, string[], string][] = [
    [
      "unknown --set node",
      ["check", file, "--set", "tilez.tile=8"],
      'error: --set "tilez.tile=8": no node "tilez" (nodes: input, tiles, maps, blend, png)',
    ],
    [
      "bad --set value",
      ["run", file, "--set", "tiles.tile=0"],
      'error: --set "tiles.tile=0": node "tiles": parameter "tile" must be an integer from 1 to 4096, got 0',
    ],
    [
      "missing file",
      ["check", "nope.yaml"],
      'error: Pipeline file "nope.yaml" not found',
    ],
  ];
  for (const [name, args, line] of cases) {
    await t.step(name, async () => {
      const { code, stdout, stderr } = await cli(args);
      deepEqual([code, stdout, stderr], [1, [], [line]]);
    });
  }
});

Deno.test("a bug (not a UserError) keeps its stack", async () => {
  const dir = await tempFiles({ "q.yaml": QUICKSTART });
  const args = [
    "run",
    join(dir, "q.yaml"),
    "--out",
    join(dir, "o"),
    "--set",
    "png.fail=true",
  ];
  const { code, stderr } = await cli(args);
  equal(code, 1);
  match(stderr[0], /^Error: write_png failed on purpose\n {4}at /);
});

Deno.test("usage errors exit 2", async (t) => {
  const cases: [string[], string][] = [
    [[], "error: missing command (see --help)"],
    [
      ["runn"],
      'error: unknown command "runn" (valid: run, check, stages) (see --help)',
    ],
    [["run"], "error: missing PIPELINE.yaml (see --help)"],
    [
      ["check", "a.yaml", "b.yaml"],
      "error: expected one pipeline file, got 2 (see --help)",
    ],
    [
      ["check", "a.yaml", "--foo"],
      'error: unknown option "--foo" (see --help)',
    ],
    [
      ["run", "a.yaml", "--out"],
      'error: option "--out" needs a value (see --help)',
    ],
    [
      ["check", "a.yaml", "--set", "x"],
      'error: --set "x": expected NODE.PARAM=VALUE (see --help)',
    ],
  ];
  for (const [args, line] of cases) {
    await t.step(args.join(" ") || "(none)", async () => {
      const { code, stderr } = await cli(args);
      deepEqual([code, stderr], [2, [line]]);
    });
  }
});

Deno.test("help prints usage", async () => {
  const { code, stdout } = await cli(["run", "--help"]);
  equal(code, 0);
  match(stdout[0], /^usage: deno task run PIPELINE\.yaml/);
});

Deno.test("stages lists stages as text or Markdown, and writes the doc", async () => {
  const text = await cli(["stages"]);
  equal(text.code, 0);
  ok(
    text.stdout[0].includes(
      "  with  tile     integer from 1 to 4096 = 256  Tile edge",
    ),
  );
  const md = await cli(["stages", "--markdown"]);
  ok(md.stdout[0].startsWith("# Stages\n"));
  const dir = await Deno.makeTempDir();
  const write = await cli(["stages", "--write", join(dir, "s.md")]);
  deepEqual(write.stdout, [`wrote ${join(dir, "s.md")}`]);
  equal(Deno.readTextFileSync(join(dir, "s.md")).trimEnd(), md.stdout[0]);
});

Deno.test("the real CLI prints one line for an unknown stage and exits 1", async () => {
  const dir = await tempFiles({
    "bad.yaml": "nodes:\n  x:\n    stage: nope\n",
  });
  const file = join(dir, "bad.yaml");
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "check", file],
    cwd: new URL("..", import.meta.url).pathname,
    env: { RUST_BACKTRACE: "1", NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(stderr);
  equal(code, 1, err);
  equal(new TextDecoder().decode(stdout), "");
  match(
    err,
    new RegExp(
      `^error: ${file}:3: node "x": unknown stage "nope" \\(valid: [^\\n]*\\)\\n$`,
    ),
  );
});
