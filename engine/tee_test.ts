import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import type { GpuBatch } from "../stages/types.ts";
import { BatchLedger } from "./_testing.ts";
import { teeBatches } from "./tee.ts";

async function* batches(
  ledger: BatchLedger,
  n: number,
  failAt = -1,
): AsyncGenerator<GpuBatch> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error("source failed");
    yield ledger.batch(i);
  }
}

async function consume(
  it: AsyncIterable<GpuBatch>,
  limit = Infinity,
): Promise<number[]> {
  const seen: number[] = [];
  for await (const batch of it) {
    seen.push(batch.origins[0]);
    batch.release();
    if (seen.length >= limit) break;
  }
  return seen;
}

Deno.test("tee hands every batch to every branch with one retain per extra branch", async () => {
  const ledger = new BatchLedger();
  const [a, b, c] = teeBatches(batches(ledger, 5), 3);
  const seen = await Promise.all([consume(a), consume(b), consume(c)]);
  deepEqual(seen, [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]);
  equal(ledger.made, 5);
  equal(ledger.retains, 10);
  ok(ledger.balanced());
});

Deno.test("tee buffers for a slow branch until it reads", async () => {
  const ledger = new BatchLedger();
  const [fast, slow] = teeBatches(batches(ledger, 4), 2);
  deepEqual(await consume(fast), [0, 1, 2, 3]);
  deepEqual(ledger.refs, [1, 1, 1, 1]);
  deepEqual(await consume(slow), [0, 1, 2, 3]);
  ok(ledger.balanced());
});

Deno.test("a branch that stops early releases its queue and the other goes on", async () => {
  const ledger = new BatchLedger();
  let closed = false;
  async function* source(): AsyncGenerator<GpuBatch> {
    try {
      yield* batches(ledger, 6);
    } finally {
      closed = true;
    }
  }
  const [a, b] = teeBatches(source(), 2);
  deepEqual(await consume(a, 2), [0, 1]);
  deepEqual(await consume(b), [0, 1, 2, 3, 4, 5]);
  ok(ledger.balanced());
  ok(closed);
});

Deno.test("the source closes when every branch stopped", async () => {
  const ledger = new BatchLedger();
  let closed = false;
  async function* source(): AsyncGenerator<GpuBatch> {
    try {
      yield* batches(ledger, 100);
    } finally {
      closed = true;
    }
  }
  const [a, b] = teeBatches(source(), 2);
  await consume(a, 1);
  await consume(b, 3);
  ok(closed);
  equal(ledger.made, 3);
  ok(ledger.balanced());
});

Deno.test("a source error reaches every branch", async () => {
  const ledger = new BatchLedger();
  const [a, b] = teeBatches(batches(ledger, 5, 2), 2);
  await rejects(consume(a), /source failed/);
  await rejects(consume(b), /source failed/);
  ok(ledger.balanced());
});
