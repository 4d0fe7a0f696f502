import assert from "node:assert/strict";
import { PickledStorage, PickledTensor, pickleStateDict, unpickle } from "./pickle.ts";

type Part = string | number | Uint8Array | Part[];

/** Pickle bytes from opcodes and ASCII strings (as their characters) and numbers (as bytes). */
function bytes(...parts: Part[]): Uint8Array {
  const flat = (p: Part): number[] =>
    typeof p === "string"
      ? [...p].map((c) => c.charCodeAt(0))
      : typeof p === "number"
      ? [p]
      : [...p].flatMap(flat);
  return Uint8Array.from(parts.flatMap(flat));
}

/** SHORT_BINUNICODE of an ASCII string. */
const str = (s: string) => bytes(0x8c, s.length, s);

const ALLOWED = "(allowed: collections.OrderedDict, torch._utils._rebuild_tensor_v2, " +
  "torch._utils._rebuild_parameter, torch.{Float,Half,BFloat16,Double,Long,Int,Byte,Bool}Storage)";

Deno.test("unpickle reads plain values", () => {
  // One line per dict item; "(" is MARK.
  const pickle = bytes(
    [0x80, 4, 0x95, 8, 0, 0, 0, 0, 0, 0, 0], // PROTO 4, FRAME
    ["}", 0x94, "("], // EMPTY_DICT, MEMOIZE (memo 0), MARK
    [str("ints"), "(K", 7, "M", [0x34, 0x12], "J", [0xfe, 0xff, 0xff, 0xff], "l"], // [7, 0x1234, -2]
    [str("longs"), 0x8a, 1, 0xff, 0x8a, 9, [1, 0, 0, 0, 0, 0, 0, 0, 1], 0x86], // (-1, 2^64 + 1)
    [str("misc"), "(N", 0x88, 0x89, "G", [0x3f, 0xf8, 0, 0, 0, 0, 0, 0], "C", 2, [9, 8], "t"],
    [str("list"), "]K", 1, "a(K", 2, "K", 3, "e"], // APPEND, APPENDS
    [str("memo"), "h", 0], // the dict itself
    "u.", // SETITEMS, STOP
  );
  const dict = unpickle(pickle, "x.pth") as Map<string, unknown>;
  assert.deepEqual(dict.get("ints"), [7, 0x1234, -2]);
  assert.deepEqual(dict.get("longs"), [-1, 2n ** 64n + 1n]);
  assert.deepEqual(dict.get("misc"), [null, true, false, 1.5, new Uint8Array([9, 8])]);
  assert.deepEqual(dict.get("list"), [1, 2, 3]);
  assert.equal(dict.get("memo"), dict);
});

Deno.test("unpickle reads back pickleStateDict", () => {
  const entries = [
    { key: "w", dtype: "f32", shape: [70000, 3], storageKey: "0" },
    { key: "n", dtype: "i64", shape: [], storageKey: "1" },
    { key: "big", dtype: "f16", shape: [2 ** 31 + 1], storageKey: "2" },
  ] as const;
  const dict = unpickle(pickleStateDict(entries), "x.pth") as Map<string, PickledTensor>;
  assert.deepEqual(
    dict,
    new Map([
      ["w", new PickledTensor(new PickledStorage("f32", "0", 210000), 0, [70000, 3], [3, 1])],
      ["n", new PickledTensor(new PickledStorage("i64", "1", 1), 0, [], [])],
      [
        "big",
        new PickledTensor(new PickledStorage("f16", "2", 2 ** 31 + 1), 0, [2 ** 31 + 1], [1]),
      ],
    ]),
  );
});

Deno.test("unpickle refuses globals outside the whitelist before calling anything", () => {
  const cases: [string, Uint8Array][] = [
    ["os.system", bytes(0x80, 2, "cos\nsystem\n", str("touch /tmp/x"), 0x85, "R.")],
    ["builtins.eval", bytes(str("builtins"), str("eval"), 0x93, str("1"), 0x85, "R.")],
    ["torch.storage._load_from_bytes", bytes("ctorch.storage\n_load_from_bytes\n)R.")],
    ["collections.defaultdict", bytes("ccollections\ndefaultdict\n.")],
  ];
  for (const [name, pickle] of cases) {
    assert.throws(() => unpickle(pickle, "evil.pth"), {
      name: "UserError",
      message: `Checkpoint "evil.pth" refers to "${name}", which is not allowed in a state dict ` +
        ALLOWED,
    });
  }
});

Deno.test("unpickle reports malformed and unsupported pickles", () => {
  const cases: [Uint8Array, string][] = [
    [bytes(0x80, 2, "X", 5, 0, 0, 0, "ab"), "truncated"],
    [bytes("S'os'\n."), "unsupported opcode 0x53 at byte 0"],
    [bytes("t."), "no mark"],
    [bytes("h", 3, "."), "memo 3 is not set"],
    [bytes("K", 1, ")R."), "cannot call number"],
    [bytes("ctorch\nFloatStorage\n)R."), "cannot call torch.FloatStorage"],
    [
      bytes("ctorch._utils\n_rebuild_tensor_v2\n(K", 1, "tR."),
      "bad arguments to _rebuild_tensor_v2",
    ],
    [bytes("(", str("storage"), str("x"), "tQ."), "unsupported persistent id"],
    [bytes("]", "K", 1, "b."), "BUILD on a non-dict"],
  ];
  for (const [pickle, why] of cases) {
    assert.throws(() => unpickle(pickle, "x.pth"), {
      name: "UserError",
      message: `Cannot read "x.pth": corrupt data.pkl (${why})`,
    });
  }
});
