import assert from "node:assert/strict";
import { dumpWithTorch, expectedTensors, findTorchPython, TESTDATA } from "./_test_util.ts";
import { readPth } from "./pth.ts";
import { readSafetensors, writeSafetensors } from "./safetensors.ts";
import { tensorFrom } from "./tensor.ts";

/** The keys, dtypes, shapes and float values of a state dict. */
async function describe(
  dict: Map<string, { dtype: string; shape: readonly number[]; data(): Promise<Float32Array> }>,
) {
  const out: Record<string, unknown> = {};
  for (const [key, t] of dict) out[key] = [t.dtype, t.shape, [...await t.data()]];
  return out;
}

Deno.test("readSafetensors reads a hand-written file like the .pth", async () => {
  const dict = await readSafetensors(`${TESTDATA}small.safetensors`);
  const expected = await expectedTensors();
  assert.deepEqual([...dict.keys()], Object.keys(expected));
  assert.deepEqual(await describe(dict), await describe(await readPth(`${TESTDATA}small.pth`)));
  assert.deepEqual([...await dict.get("int64")!.raw()], [2n ** 53n + 1n, -3n]);
  assert.deepEqual([...await dict.get("double")!.raw()], expected.double.values);
});

Deno.test("writeSafetensors sorts keys, pads the header and round-trips", async () => {
  const path = await Deno.makeTempFile({ suffix: ".safetensors" });
  const source = await readPth(`${TESTDATA}small.pth`);
  await writeSafetensors(path, source, { metadata: { format: "pt" } });
  const bytes = await Deno.readFile(path);
  const size = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(size % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + size)));
  assert.deepEqual(header.__metadata__, { format: "pt" });
  const keys = Object.keys(header).filter((k) => k !== "__metadata__");
  assert.deepEqual(keys, [...source.keys()].sort());
  const offsets = keys.map((k) => header[k].data_offsets);
  assert.deepEqual(offsets.flat(), [0, ...offsets.flatMap(([, end]) => [end, end])].slice(0, -1));
  const { dtype, shape, data_offsets: [begin, end] } = header["bn.num_batches_tracked"];
  assert.deepEqual([dtype, shape, end - begin], ["I64", [], 8]);

  const back = await readSafetensors(path);
  assert.deepEqual(await describe(back), await describe(new Map([...source].sort())));
  assert.deepEqual([...await back.get("half")!.raw()], [...await source.get("half")!.raw()]);
  await Deno.remove(path);
});

Deno.test("readSafetensors rejects invalid files", async () => {
  const dir = await Deno.makeTempDir();
  const write = async (name: string, header: string, data = 0) => {
    const json = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + json.length + data);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
    bytes.set(json, 8);
    await Deno.writeFile(`${dir}/${name}`, bytes);
    return `${dir}/${name}`;
  };
  const fail = async (path: string, why: string) =>
    await assert.rejects(readSafetensors(path), {
      name: "UserError",
      message: `Cannot read "${path}": ${why}`,
    });
  const bad = (why: string) => `not a valid safetensors file (${why})`;
  await fail(await write("json.safetensors", "{oops"), bad("the header is not JSON"));
  await fail(await write("array.safetensors", "[1]"), bad("the header is not an object"));
  await fail(
    await write(
      "dtype.safetensors",
      `{"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}`,
      1,
    ),
    `tensor "a" has unsupported dtype "F8_E4M3"`,
  );
  await fail(
    await write(
      "size.safetensors",
      `{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}`,
      4,
    ),
    bad(`bad data offsets for "a"`),
  );
  await fail(
    await write(
      "past.safetensors",
      `{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}`,
      4,
    ),
    bad(`bad data offsets for "a"`),
  );
  await fail(
    await write(
      "shape.safetensors",
      `{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}`,
    ),
    bad(`bad entry for "a"`),
  );
  await Deno.writeFile(`${dir}/short`, new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
  await fail(`${dir}/short`, bad("bad header size"));
  await Deno.remove(dir, { recursive: true });
});

const TORCH_PYTHON = await findTorchPython();
if (!TORCH_PYTHON) console.log("skipping the Python safetensors check: no python3 with torch");

Deno.test({
  name: "writeSafetensors writes what a hand-written Python reader reads",
  ignore: !TORCH_PYTHON,
  async fn() {
    const path = await Deno.makeTempFile({ suffix: ".safetensors" });
    await writeSafetensors(path, await readPth(`${TESTDATA}small.pth`));
    const expected = await expectedTensors();
    const sorted = Object.fromEntries(Object.entries(expected).sort(([a], [b]) => a < b ? -1 : 1));
    assert.deepEqual(await dumpWithTorch(TORCH_PYTHON!, path), sorted);
    const one = tensorFrom({ shape: [1], data: new Float32Array([1]) });
    await writeSafetensors(path, new Map([["x", one]]), { metadata: { a: "b" } });
    assert.deepEqual(await dumpWithTorch(TORCH_PYTHON!, path), {
      x: { dtype: "f32", shape: [1], values: [1] },
    });
    await Deno.remove(path);
  },
});
