/**
 * Depth windows and region bounds, shared by the volume readers.
 *
 * @module
 */

import { q, UserError } from "./errors.ts";
import type { DepthWindow } from "./volume.ts";

/**
 * Resolves a depth window against a stack of `depth` layers and returns the
 * selected layer indices in read order.
 *
 * @param where The stack, named in error messages.
 * @throws {UserError} When the window is malformed or reaches past the stack.
 *
 * @example
 * ```ts
 * import { windowLayers } from "./window.ts";
 * const layers = windowLayers({ start: 1, count: 2, reverse: true }, 4, "x");
 * console.assert(layers.join() === "2,1");
 * ```
 */
export function windowLayers(
  window: DepthWindow,
  depth: number,
  where: string,
): number[] {
  const { start, count, reverse = false } = window;
  const wanted = `Depth window start ${start}` +
    (count === undefined ? "" : ` count ${count}`);
  const countOk = count === undefined ||
    (Number.isInteger(count) && count >= 1);
  if (!Number.isInteger(start) || start < 0 || !countOk) {
    throw new UserError(
      `${wanted} is invalid: start must be a whole number from 0 and count from 1`,
    );
  }
  const n = count ?? depth - start;
  if (n < 1 || start + n > depth) {
    const needs = count === undefined
      ? `needs layer ${start}`
      : `needs layers ${start}..${start + n - 1}`;
    throw new UserError(
      `${wanted} ${needs} but ${q(where)} has ${depth} layers (0..${depth - 1})`,
    );
  }
  const layers = Array.from({ length: n }, (_, i) => start + i);
  return reverse ? layers.reverse() : layers;
}

/**
 * Checks that rows `[y0, y1)` and columns `[x0, x1)` are a non-empty region
 * inside a `height` x `width` image. A failure is a caller bug, not a user
 * error: callers clamp regions to the image.
 *
 * @throws {RangeError} When the region is empty, fractional or out of bounds.
 *
 * @example
 * ```ts
 * import { checkRegion } from "./window.ts";
 * checkRegion(0, 2, 0, 3, 10, 10); // fine
 * ```
 */
export function checkRegion(
  y0: number,
  y1: number,
  x0: number,
  x1: number,
  height: number,
  width: number,
): void {
  const ok = [y0, y1, x0, x1].every(Number.isInteger) && 0 <= y0 &&
    y0 < y1 && y1 <= height && 0 <= x0 && x0 < x1 && x1 <= width;
  if (!ok) {
    throw new RangeError(
      `Region rows ${y0}..${y1} columns ${x0}..${x1} is not inside the ${height}x${width} (height x width) image`,
    );
  }
}
