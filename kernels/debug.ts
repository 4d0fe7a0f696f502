/**
 * `DEBUG` levels, as in tinygrad: 1 prints the plan and per-node timings,
 * 2 adds kernel keys as pipelines are compiled, 3 adds per-dispatch GPU
 * timings (timestamp queries where the adapter has them).
 *
 * @module
 */

let level: number | undefined;

/** The current `DEBUG` level (0 when unset or unreadable). */
export function debugLevel(): number {
  if (level === undefined) {
    try {
      level = Number.parseInt(Deno.env.get("DEBUG") ?? "0", 10) || 0;
    } catch {
      level = 0;
    }
  }
  return level;
}

/** Overrides the level (tests). */
export function setDebugLevel(value: number): void {
  level = value;
}

/** Writes one diagnostic line to stderr. */
export function log(message: string): void {
  console.error(`[debug] ${message}`);
}
