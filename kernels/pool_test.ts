import assert from "node:assert/strict";
import { getGpu } from "./device.ts";
import { sizeClass } from "./pool.ts";

Deno.test("size classes waste at most a quarter and are monotonic", () => {
  let prev = 0;
  for (const n of [1, 255, 256, 257, 1000, 4096, 5000, 1 << 20, (1 << 20) + 1, 3e8]) {
    const c = sizeClass(n);
    assert.ok(c >= n && c >= prev, `class of ${n} is ${c}`);
    assert.ok(c <= Math.max(256, n * 1.25 + 256), `class of ${n} wastes too much: ${c}`);
    assert.equal(c % 256, 0);
    prev = c;
  }
});

Deno.test("the pool reuses released buffers and reports bytes in use", async () => {
  const { pool } = await getGpu();
  const before = pool.stats();
  const a = pool.acquire(10_000);
  const b = pool.acquire(10_000);
  assert.notEqual(a, b);
  assert.equal(pool.stats().inUseBytes - before.inUseBytes, 2 * sizeClass(10_000));
  pool.release(a);
  const c = pool.acquire(9_000); // same class as 10_000: reused, no new buffer
  assert.equal(c, a);
  assert.equal(pool.stats().createdBuffers - before.createdBuffers, 2);
  pool.release(b);
  pool.release(c);
  assert.equal(pool.stats().inUseBytes, before.inUseBytes);
  assert.throws(() => pool.release(c), /released twice/);
});
