/**
 * Splits one stream of GPU batches between several consumers.
 *
 * Each batch pulled from the source is handed to every branch: the branch
 * that pulled it gets it directly, and every other open branch gets it after
 * one `retain()`, so each consumer calls `release()` once as usual. Batches
 * wait in a per-branch queue until that branch pulls them: a consumer that
 * runs far behind the others makes its queue (and GPU memory) grow. A branch
 * that stops early (`return()`) releases its queued batches and stops
 * receiving; when every branch has stopped, the source is closed.
 *
 * @module
 */

import type { GpuBatch } from "../stages/types.ts";

/**
 * Returns `n` iterables that each yield every batch of `source`.
 *
 * @example
 * ```ts ignore
 * const [a, b] = teeBatches(stream.batches, 2);
 * ```
 */
export function teeBatches(
  source: AsyncIterable<GpuBatch>,
  n: number,
): AsyncIterable<GpuBatch>[] {
  const it = source[Symbol.asyncIterator]();
  const queues: GpuBatch[][] = Array.from({ length: n }, () => []);
  const open: boolean[] = Array(n).fill(true);
  let pulling: Promise<void> | undefined;
  let finished = false;
  let error: { e: unknown } | undefined;

  async function pull(): Promise<void> {
    try {
      const r = await it.next();
      if (r.done) {
        finished = true;
        return;
      }
      const batch = r.value;
      const takers = open.flatMap((o, i) => (o ? [i] : []));
      for (let k = 1; k < takers.length; k++) batch.retain();
      if (takers.length === 0) batch.release();
      for (const i of takers) queues[i].push(batch);
    } catch (e) {
      error = { e };
    }
  }

  async function close(i: number): Promise<void> {
    if (!open[i]) return;
    open[i] = false;
    for (const batch of queues[i].splice(0)) batch.release();
    if (!open.includes(true) && !finished && !error) {
      finished = true;
      await pulling;
      await it.return?.();
    }
  }

  function branch(i: number): AsyncIterable<GpuBatch> {
    const iterator: AsyncIterator<GpuBatch> = {
      async next(): Promise<IteratorResult<GpuBatch>> {
        while (open[i]) {
          const batch = queues[i].shift();
          if (batch) return { done: false, value: batch };
          if (error) {
            open[i] = false;
            throw error.e;
          }
          if (finished) break;
          pulling ??= pull().finally(() => (pulling = undefined));
          await pulling;
        }
        await close(i);
        return { done: true, value: undefined };
      },
      async return(): Promise<IteratorResult<GpuBatch>> {
        await close(i);
        return { done: true, value: undefined };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  return queues.map((_, i) => branch(i));
}
