/**
 * Progress bars on stderr, one line per node that reported a total, with
 * count/total, rate and ETA. Streaming nodes run at the same time, so the
 * bars are drawn as one block that is redrawn in place, at most five times
 * a second. When stderr is not a terminal (or with `--quiet`) nothing is
 * drawn, but counts are still kept for the manifest.
 *
 * @module
 */

import type { Progress } from "../stages/types.ts";

/** What a node's progress ended at, for the manifest and DEBUG timings. */
export interface ProgressState {
  count: number;
  total: number;
  unit: string;
}

const REDRAW_MS = 200;
const encoder = new TextEncoder();

/** The bars of one run. */
export class ProgressBoard {
  #bars: Bar[] = [];
  #drawn = 0;
  #last = 0;
  #write: ((text: string) => void) | undefined;

  /**
   * @param draw Whether to draw at all (false when quiet or not a terminal).
   * @param write Where to write; defaults to stderr.
   */
  constructor(draw: boolean, write?: (text: string) => void) {
    this.#write = draw
      ? (write ?? ((text) => void Deno.stderr.writeSync(encoder.encode(text))))
      : undefined;
  }

  /** Returns the {@linkcode Progress} handed to a node's stage. */
  forNode(node: string): Progress & { state(): ProgressState | undefined } {
    let bar: Bar | undefined;
    return {
      start: (total, unit) => {
        bar = {
          node,
          total,
          unit,
          count: 0,
          start: performance.now(),
          done: false,
        };
        this.#bars.push(bar);
        this.#render(true);
      },
      tick: (n = 1) => {
        if (!bar) return;
        bar.count += n;
        this.#render(false);
      },
      done: () => {
        if (!bar || bar.done) return;
        bar.done = true;
        bar.end = performance.now();
        this.#render(true);
      },
      state: () => bar && { count: bar.count, total: bar.total, unit: bar.unit },
    };
  }

  /** Prints a line above the bars (used for DEBUG messages while bars are drawn). */
  log(line: string): void {
    if (!this.#write) {
      console.error(line);
      return;
    }
    this.#write(this.#clear() + line + "\n");
    this.#drawn = 0;
    this.#render(true);
  }

  #clear(): string {
    return this.#drawn ? `\x1b[${this.#drawn}A\r\x1b[J` : "";
  }

  #render(force: boolean): void {
    if (!this.#write || this.#bars.length === 0) return;
    const now = performance.now();
    if (!force && now - this.#last < REDRAW_MS) return;
    this.#last = now;
    const width = terminalWidth();
    const nameWidth = Math.max(...this.#bars.map((b) => b.node.length));
    const lines = this.#bars.map((b) => formatBar(b, nameWidth, width, now));
    this.#write(this.#clear() + lines.map((l) => l + "\n").join(""));
    this.#drawn = lines.length;
  }
}

interface Bar {
  node: string;
  total: number;
  unit: string;
  count: number;
  start: number;
  end?: number;
  done: boolean;
}

function terminalWidth(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 80;
  }
}

/** One bar line: `node  [#####-----]  120/500 tiles  35.2 tiles/s  ETA 0:11`. */
function formatBar(
  b: Bar,
  nameWidth: number,
  columns: number,
  now: number,
): string {
  const seconds = ((b.end ?? now) - b.start) / 1000;
  const rate = seconds > 0 ? b.count / seconds : 0;
  const counts = `${b.count}/${b.total} ${b.unit}`;
  const speed = `${rate.toFixed(rate < 10 ? 1 : 0)} ${b.unit}/s`;
  const tail = b.done
    ? `done in ${formatTime(seconds)}`
    : rate > 0
    ? `ETA ${formatTime(Math.max(0, b.total - b.count) / rate)}`
    : "ETA -";
  const text = `${counts}  ${speed}  ${tail}`;
  const room = columns - 1 - nameWidth - text.length - 8;
  const barWidth = Math.min(30, room);
  if (barWidth < 5) return `${b.node.padEnd(nameWidth)}  ${text}`;
  const frac = b.total > 0 ? Math.min(1, b.count / b.total) : b.done ? 1 : 0;
  const filled = Math.round(frac * barWidth);
  const bar = "#".repeat(filled) + "-".repeat(barWidth - filled);
  return `${b.node.padEnd(nameWidth)}  [${bar}]  ${text}`;
}

/** Formats seconds as `m:ss` (or `h:mm:ss`). */
export function formatTime(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
