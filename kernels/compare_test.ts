import assert from "node:assert/strict";
import { assertClose, compareArrays } from "./compare.ts";

Deno.test("tolerance grows with magnitude", () => {
  assert.ok(compareArrays([1000.05], [1000], { atol: 1e-6, rtol: 1e-4 }).ok);
  assert.ok(!compareArrays([0.05], [0], { atol: 1e-6, rtol: 1e-4 }).ok);
});

Deno.test("failures name the worst element, and NaN never passes", () => {
  assert.throws(
    () => assertClose([1, 2, 9], [1, 2, 3], {}, "x"),
    /x: 1 of 3 elements .* worst at 2: actual 9, expected 3/,
  );
  assert.ok(!compareArrays([NaN], [1]).ok);
  assert.equal(compareArrays([3, 4], [3, 4]).relL2, 0);
});
