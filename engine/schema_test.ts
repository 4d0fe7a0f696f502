import { deepEqual, equal } from "node:assert/strict";
import * as v from "valibot";
import { describeParam, describeParams, formatValue } from "./schema.ts";

Deno.test("describeParam reads types, ranges, defaults and descriptions", async (t) => {
  const cases: [string, unknown, Partial<ReturnType<typeof describeParam>>][] = [
    [
      "bounded integer with default",
      v.optional(
        v.pipe(
          v.number(),
          v.integer(),
          v.minValue(1),
          v.maxValue(4096),
          v.description("Tile edge"),
        ),
        256,
      ),
      {
        type: "integer",
        range: "from 1 to 4096",
        expects: "an integer from 1 to 4096",
        required: false,
        hasDefault: true,
        default: 256,
        description: "Tile edge",
      },
    ],
    [
      "number with open bounds",
      v.pipe(v.number(), v.gtValue(0), v.ltValue(1)),
      {
        type: "number",
        range: "> 0 and < 1",
        expects: "a number > 0 and < 1",
        required: true,
      },
    ],
    [
      "picklist",
      v.optional(v.picklist(["seed", "u16"]), "seed"),
      {
        type: '"seed" | "u16"',
        expects: 'one of "seed", "u16"',
        default: "seed",
      },
    ],
    ["string", v.string(), {
      type: "string",
      expects: "a string",
      required: true,
    }],
    ["boolean", v.optional(v.boolean(), false), {
      type: "boolean",
      expects: "true or false",
    }],
    [
      "optional without default",
      v.optional(v.string()),
      { required: false, hasDefault: false, default: undefined },
    ],
    [
      "list of bounded integers",
      v.optional(
        v.array(v.pipe(v.number(), v.integer(), v.minValue(0))),
        () => [1, 2],
      ),
      {
        type: "list of integers >= 0",
        expects: "a list of integers >= 0",
        default: [1, 2],
      },
    ],
    [
      "nullable",
      v.nullable(v.number()),
      { type: "number or null", expects: "a number or null" },
    ],
    [
      "union",
      v.union([v.number(), v.literal("auto")]),
      { type: 'number | "auto"', expects: 'a number or "auto"' },
    ],
    [
      "description on the optional",
      v.pipe(v.optional(v.string(), "a"), v.description("Outer")),
      { description: "Outer", default: "a" },
    ],
  ];
  for (const [name, schema, want] of cases) {
    await t.step(name, () => {
      const got = describeParam("p", schema);
      const picked = Object.fromEntries(
        Object.keys(want).map((k) => [k, got[k as keyof typeof got]]),
      );
      deepEqual(picked, want);
    });
  }
});

Deno.test("describeParams keeps schema order", () => {
  const names = describeParams(v.object({ b: v.string(), a: v.number() })).map((
    p,
  ) => p.name);
  deepEqual(names, ["b", "a"]);
});

Deno.test("formatValue", () => {
  equal(formatValue("x"), '"x"');
  equal(formatValue(-3), "-3");
  equal(formatValue([1, 2]), "[1,2]");
  equal(formatValue(undefined), "nothing");
  equal(formatValue(null), "null");
});
