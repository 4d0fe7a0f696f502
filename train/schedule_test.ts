import assert from "node:assert/strict";
import { seedLr } from "./schedule.ts";

Deno.test("seedLr reproduces the seed's effective rates (torch simulation in seed-spec 3)", () => {
  const ten = [1e-5, 1e-5, 1e-4, 1e-4, 9.05e-5, 7.94e-5, 6.55e-5, 5.01e-5, 3.46e-5, 2.07e-5];
  ten.forEach((want, e) => {
    const got = seedLr(e, { peak: 1e-4, epochs: 10 });
    assert.ok(Math.abs(got - want) < 0.006 * want, `epoch ${e}: ${got} vs ${want}`);
  });
  const thirty = { 4: 9.89e-5, 5: 9.76e-5, 28: 4.42e-6, 29: 2.54e-6 } as Record<number, number>;
  for (const [e, want] of Object.entries(thirty)) {
    const got = seedLr(Number(e), { peak: 1e-4, epochs: 30 });
    assert.ok(Math.abs(got - want) < 0.006 * want, `epoch ${e}: ${got} vs ${want}`);
  }
});
