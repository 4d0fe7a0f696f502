import assert from "node:assert/strict";
import {
  dumpWithTorch,
  type Expected,
  expectedTensors,
  findTorchPython,
  TESTDATA,
} from "./_test_util.ts";
import { pickleStateDict } from "./pickle.ts";
import { readPth, writePth } from "./pth.ts";
import { type StateDict, tensorFrom } from "./tensor.ts";
import { writeZip } from "./zip.ts";

/** Asserts that a state dict holds exactly the expected tensors, in order, value for value. */
async function assertTensors(dict: StateDict, expected: Record<string, Expected>, prefix = "") {
  assert.deepEqual([...dict.keys()], Object.keys(expected).map((k) => prefix + k));
  for (const [key, { dtype, shape, values }] of Object.entries(expected)) {
    const t = dict.get(prefix + key)!;
    assert.deepEqual([t.dtype, t.shape], [dtype, shape], key);
    assert.deepEqual([...await t.data()], values.map((v) => Math.fround(Number(v))), key);
    const raw = [...await t.raw()];
    if (dtype === "i64") assert.deepEqual(raw, values.map(BigInt), key);
    else if (dtype !== "f16" && dtype !== "bf16") assert.deepEqual(raw, values, key);
  }
}

Deno.test("readPth reads torch.save files exactly", async (t) => {
  const expected = await expectedTensors();
  await t.step("every dtype, views of one storage, non-contiguous views", async () => {
    await assertTensors(await readPth(`${TESTDATA}small.pth`), expected);
  });
  await t.step("with a module. prefix", async () => {
    await assertTensors(await readPth(`${TESTDATA}small_module.pth`), expected, "module.");
  });
  await t.step("ZIP64, another folder name", async () => {
    await assertTensors(await readPth(`${TESTDATA}small_zip64.pth`), expected);
  });
  await t.step("DEFLATE entries", async () => {
    await assertTensors(await readPth(`${TESTDATA}small_deflate.pth`), expected);
  });
  await t.step("each tensor reads its values again on each call", async () => {
    const dict = await readPth(`${TESTDATA}small.pth`);
    const a = dict.get("shared_a")!;
    const b = dict.get("shared_b")!;
    await Promise.all([a.data(), b.data(), a.data()]);
    assert.deepEqual([...await a.data()], expected.shared_a.values);
    assert.deepEqual([...await dict.get("shared_c")!.data()], expected.shared_c.values);
  });
});

Deno.test("readPth refuses malicious pickles without running them", async () => {
  const allowed = "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, " +
    "torch._utils._rebuild_parameter, torch.{Float,Half,BFloat16,Double,Long,Int,Byte,Bool}Storage)";
  const cases = [
    ["evil_os_system.pth", "os.system", "/tmp/vesuvius_pwned_os_system"],
    ["evil_eval.pth", "builtins.eval", "/tmp/vesuvius_pwned_eval"],
  ];
  for (const [name, global, payload] of cases) {
    await Deno.remove(payload).catch(() => {});
    await assert.rejects(readPth(TESTDATA + name), {
      name: "UserError",
      message: `Checkpoint "${TESTDATA}${name}" refers to "${global}", which is not allowed ` +
        `in a state dict ${allowed}`,
    });
    await assert.rejects(Deno.stat(payload), Deno.errors.NotFound, `${payload} was created`);
  }
});

Deno.test("readPth rejects files that are not zip-format state dicts", async () => {
  const fail = async (path: string, why: string) =>
    await assert.rejects(readPth(path), {
      name: "UserError",
      message: `Cannot read "${path}": ${why}`,
    });
  await fail(
    `${TESTDATA}legacy.pth`,
    "legacy PyTorch format (before 1.6), re-save it with torch.save in PyTorch 1.6 or newer",
  );
  await fail(`${TESTDATA}truncated.pth`, "truncated zip file (no central directory)");
  await fail(`${TESTDATA}small.safetensors`, "not a zip file");
  await fail(`${TESTDATA}missing.pth`, "file not found");

  const dir = await Deno.makeTempDir();
  const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  const pickle = pickleStateDict([{ key: "w", dtype: "f32", shape: [4], storageKey: "0" }]);
  await writeZip(`${dir}/none.pth`, [{ name: "a/version", data: text("3") }]);
  await fail(`${dir}/none.pth`, "not a PyTorch checkpoint (no */data.pkl)");
  await writeZip(`${dir}/big.pth`, [
    { name: "a/data.pkl", data: pickle },
    { name: "a/byteorder", data: text("big") },
  ]);
  await fail(`${dir}/big.pth`, `byte order "big" is not supported`);
  await writeZip(`${dir}/list.pth`, [{ name: "a/data.pkl", data: text("\x80\x02]K\x01a.") }]);
  await fail(`${dir}/list.pth`, "not a state dict (the pickle is not a dict)");
  await writeZip(`${dir}/epoch.pth`, [{
    name: "a/data.pkl",
    data: text("}X\x05\0\0\0epochK\x03s."),
  }]);
  await fail(`${dir}/epoch.pth`, `not a state dict ("epoch" is not a tensor)`);
  await writeZip(`${dir}/short.pth`, [
    { name: "a/data.pkl", data: pickle },
    { name: "a/data/0", data: new Uint8Array(12) },
  ]);
  const dict = await readPth(`${dir}/short.pth`);
  await assert.rejects(dict.get("w")!.data(), {
    message: `Cannot read "${dir}/short.pth": storage "a/data/0" is truncated`,
  });
  await writeZip(`${dir}/absent.pth`, [{ name: "a/data.pkl", data: pickle }]);
  await assert.rejects((await readPth(`${dir}/absent.pth`)).get("w")!.raw(), {
    message: `Cannot read "${dir}/absent.pth": storage "a/data/0" is missing`,
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writePth round-trips through readPth", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pth" });
  const source = await readPth(`${TESTDATA}small.pth`);
  await writePth(path, source);
  await assertTensors(await readPth(path), await expectedTensors());
  const big = tensorFrom({
    shape: [300, 300],
    data: Float32Array.from({ length: 90000 }, (_, i) => i),
  });
  await writePth(path, new Map([["big", big]]));
  assert.deepEqual(await (await readPth(path)).get("big")!.data(), await big.data());
  await Deno.remove(path);
});

const TORCH_PYTHON = await findTorchPython();
if (!TORCH_PYTHON) console.log("skipping the torch.load checks: no python3 with torch");

Deno.test({
  name: "writePth writes files that torch.load reads (weights_only)",
  ignore: !TORCH_PYTHON,
  async fn() {
    const path = await Deno.makeTempFile({ suffix: ".pth" });
    await writePth(path, await readPth(`${TESTDATA}small.pth`));
    assert.deepEqual(await dumpWithTorch(TORCH_PYTHON!, path), await expectedTensors());
    await Deno.remove(path);
  },
});
