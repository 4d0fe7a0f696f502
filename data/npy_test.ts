import assert from "node:assert/strict";
import { UserError } from "./errors.ts";
import { decodeNpy, encodeNpy, type NpyArray, readNpy, writeNpy } from "./npy.ts";

const TESTDATA = new URL("./testdata/npy/", import.meta.url).pathname;

/** The (2, 3, 4) float32 fixture, as in data/fixtures/gen_npy_fixtures.py. */
const F32 = Float32Array.from({ length: 24 }, (_, i) => i * 0.5 - 3);

Deno.test("readNpy reads numpy's files of every supported dtype", async (t) => {
  const cases: [string, Omit<NpyArray, "data"> & { data: ArrayLike<number | bigint> }][] = [
    ["f32_2x3x4.npy", { shape: [2, 3, 4], dtype: "f32", data: F32 }],
    ["f32_v2.npy", { shape: [2, 3, 4], dtype: "f32", data: F32 }],
    ["f64_scalar.npy", { shape: [], dtype: "f64", data: new Float64Array([3.25]) }],
    ["f16_5.npy", {
      shape: [5],
      dtype: "f16",
      data: new Float16Array([0, 1.5, -2, 65504, 2 ** -24]),
    }],
    ["i64_2x2.npy", {
      shape: [2, 2],
      dtype: "i64",
      data: new BigInt64Array([-1n, 2n ** 40n, 7n, -(2n ** 62n)]),
    }],
    ["i32_3.npy", { shape: [3], dtype: "i32", data: new Int32Array([-5, 6, 2 ** 31 - 1]) }],
    ["u8_2x5.npy", {
      shape: [2, 5],
      dtype: "u8",
      data: Uint8Array.from({ length: 10 }, (_, i) => i * 28),
    }],
    ["u16_3.npy", { shape: [3], dtype: "u16", data: new Uint16Array([0, 1000, 65535]) }],
    ["f32_0x3.npy", { shape: [0, 3], dtype: "f32", data: new Float32Array(0) }],
  ];
  for (const [name, expected] of cases) {
    await t.step(name, async () => {
      const array = await readNpy(TESTDATA + name);
      assert.deepEqual(array, expected);
      assert.equal(array.data.constructor, expected.data.constructor);
    });
  }
});

Deno.test("readNpy checks the dtype it is asked for", async () => {
  const array = await readNpy(TESTDATA + "f32_2x3x4.npy", { dtype: "f32" });
  const data: Float32Array = array.data;
  assert.equal(data[23], 8.5);
  await assert.rejects(
    () => readNpy(TESTDATA + "u8_2x5.npy", { dtype: "f32" }),
    UserError,
    `dtype is u8 ("|u1"), expected f32`,
  );
});

Deno.test("readNpy rejects what it cannot read, with a UserError", async (t) => {
  const cases: [string, string][] = [
    ["f32_fortran.npy", "Fortran-order arrays are not supported"],
    ["f32_big_endian.npy", `big-endian data (">f4") is not supported`],
    ["c64_2.npy", `unsupported dtype "<c8"`],
    ["f32_truncated.npy", "truncated: 92 data bytes for shape (2, 3, 4) of f32, expected 96"],
    ["missing.npy", "file not found"],
    ["../png/rgb.png", "not a .npy file"],
  ];
  for (const [name, message] of cases) {
    await t.step(name, async () => {
      await assert.rejects(() => readNpy(TESTDATA + name), (err: Error) => {
        assert.ok(err instanceof UserError);
        assert.ok(err.message.startsWith(`Cannot read "${TESTDATA + name}": `), err.message);
        assert.ok(err.message.includes(message), err.message);
        return true;
      });
    });
  }
});

Deno.test("decodeNpy rejects malformed headers", () => {
  const good = encodeNpy([2], new Float32Array([1, 2]));
  const withHeader = (header: string, major = 1) => {
    const bytes = good.slice();
    bytes[6] = major;
    bytes.set(new TextEncoder().encode(header.padEnd(117, " ")), 10);
    return bytes;
  };
  assert.throws(
    () => decodeNpy(withHeader("{'descr': '<f4', 'shape': (2,), }")),
    /malformed header/,
  );
  assert.throws(
    () =>
      decodeNpy(withHeader("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }")),
    /structured dtypes are not supported/,
  );
  assert.throws(
    () => decodeNpy(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }")),
    /malformed shape/,
  );
  assert.throws(() => decodeNpy(withHeader("{}", 4)), /unsupported .npy format version 4.0/);
  assert.throws(() => decodeNpy(good.subarray(0, 50), { name: "a.npy" }), /"a.npy": truncated/);
  assert.throws(
    () => decodeNpy(new Uint8Array([...good, 0, 0, 0, 0])),
    /trailing bytes: 12 data bytes/,
  );
});

Deno.test("decodeNpy copies data that is not aligned for its type", () => {
  const bytes = encodeNpy([3], new Float64Array([1, -2, 3.5]));
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  assert.deepEqual(decodeNpy(shifted).data, new Float64Array([1, -2, 3.5]));
});

Deno.test("writeNpy writes exactly what np.save writes", async (t) => {
  const cases: [string, number[], NpyArray["data"]][] = [
    ["f32_2x3x4.npy", [2, 3, 4], F32],
    ["f64_scalar.npy", [], new Float64Array([3.25])],
    ["f16_5.npy", [5], new Float16Array([0, 1.5, -2, 65504, 2 ** -24])],
    ["i64_2x2.npy", [2, 2], new BigInt64Array([-1n, 2n ** 40n, 7n, -(2n ** 62n)])],
    ["i32_3.npy", [3], new Int32Array([-5, 6, 2 ** 31 - 1])],
    ["u8_2x5.npy", [2, 5], Uint8Array.from({ length: 10 }, (_, i) => i * 28)],
    ["u16_3.npy", [3], new Uint16Array([0, 1000, 65535])],
    ["f32_0x3.npy", [0, 3], new Float32Array(0)],
  ];
  const dir = await Deno.makeTempDir();
  for (const [name, shape, data] of cases) {
    await t.step(name, async () => {
      await writeNpy(`${dir}/${name}`, shape, data);
      assert.deepEqual(await Deno.readFile(`${dir}/${name}`), await Deno.readFile(TESTDATA + name));
    });
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeNpy and readNpy round-trip", async (t) => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/a.npy`;
  await t.step("a large float32 array", async () => {
    const data = Float32Array.from({ length: 3 * 1000 * 7 }, (_, i) => Math.sin(i) * 1e3);
    await writeNpy(path, [3, 1000, 7], data);
    assert.deepEqual(await readNpy(path), { shape: [3, 1000, 7], dtype: "f32", data });
  });
  await t.step("a view into a larger buffer", async () => {
    const data = new Uint16Array([9, 8, 7, 6, 5]).subarray(1, 4);
    await writeNpy(path, [3], data);
    assert.deepEqual(await readNpy(path), { shape: [3], dtype: "u16", data: data.slice() });
  });
  await t.step("a header that needs format 2.0", () => {
    const shape = Array.from({ length: 25000 }, () => 1);
    const bytes = encodeNpy(shape, new Float32Array([2.5]));
    assert.equal(bytes[6], 2);
    assert.equal((10 + 2 + new DataView(bytes.buffer).getUint32(8, true)) % 64, 0);
    assert.deepEqual(decodeNpy(bytes), { shape, dtype: "f32", data: new Float32Array([2.5]) });
  });
  await t.step("bad arguments", async () => {
    await assert.rejects(() => writeNpy(path, [2, 2], new Float32Array(3)), RangeError);
    await assert.rejects(() => writeNpy(path, [-1], new Float32Array(0)), RangeError);
    await assert.rejects(
      () => writeNpy(path, [2], new Int8Array(2) as unknown as Uint8Array),
      TypeError,
    );
    await assert.rejects(
      () => writeNpy(`${dir}/no/such/dir/a.npy`, [1], new Uint8Array(1)),
      UserError,
    );
  });
  await Deno.remove(dir, { recursive: true });
});
