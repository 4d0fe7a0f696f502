/**
 * The seed's run-length encoding of a binary image for the Kaggle
 * submission (inference step 10), in memory or streamed by row bands, its
 * decoder and the submission CSV.
 *
 * The image is flattened row-major and padded with a 0 at each end; each
 * run of 1s is written as its 1-based start and its length, all separated by
 * single spaces. Runs continue across row ends. Non-zero counts as 1.
 *
 * @module
 */

import type { Band, BinaryImage } from "./components.ts";

/** Runs joined into one string at a time, so a long encoding is not millions of strings. */
const CHUNK = 1 << 16;

/**
 * Encodes bands of a binary image pushed in order from row 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RleEncoder } from "./rle.ts";
 * const encoder = new RleEncoder(3);
 * encoder.push({ y0: 0, data: new Uint8Array([0, 1, 1]) });
 * encoder.push({ y0: 1, data: new Uint8Array([1, 0, 1]) });
 * assert(encoder.finish() === "2 3 6 1");
 * ```
 */
export class RleEncoder {
  #width: number;
  #next = 0;
  #start = -1;
  #runs: string[] = [];
  #chunks: string[] = [];

  /** Encodes rows `width` pixels wide. */
  constructor(width: number) {
    this.#width = width;
  }

  /** Adds the next band of whole rows. */
  push(band: Band): void {
    const { data, y0 } = band;
    if (data.length % this.#width !== 0 || y0 * this.#width !== this.#next) {
      throw new RangeError(
        `RleEncoder.push: expected whole rows of ${this.#width} from row ${
          this.#next / this.#width
        }, got ${data.length} values from row ${y0}`,
      );
    }
    const offset = this.#next;
    let start = this.#start;
    for (let i = 0; i < data.length; i++) {
      if ((data[i] !== 0) === (start >= 0)) continue;
      if (start < 0) start = offset + i;
      else {
        this.#add(start, offset + i);
        start = -1;
      }
    }
    this.#start = start;
    this.#next += data.length;
  }

  /** Closes a run that reaches the end and returns the encoding. */
  finish(): string {
    if (this.#start >= 0) this.#add(this.#start, this.#next);
    this.#start = -1;
    if (this.#runs.length) this.#chunks.push(this.#runs.join(" "));
    this.#runs = [];
    return this.#chunks.join(" ");
  }

  #add(start: number, end: number): void {
    this.#runs.push(`${start + 1} ${end - start}`);
    if (this.#runs.length === CHUNK) {
      this.#chunks.push(this.#runs.join(" "));
      this.#runs = [];
    }
  }
}

/**
 * The seed's RLE of a binary image in memory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { rle } from "./rle.ts";
 * const data = new Uint8Array([1, 1, 0, 0, 1, 1]);
 * assert(rle({ height: 2, width: 3, data }) === "1 2 5 2");
 * ```
 */
export function rle(image: BinaryImage): string {
  if (image.data.length !== image.height * image.width) {
    throw new RangeError(
      `rle: ${image.data.length} values for a ${image.height}x${image.width} image`,
    );
  }
  const encoder = new RleEncoder(image.width);
  encoder.push({ y0: 0, data: image.data });
  return encoder.finish();
}

/**
 * Decodes an RLE string into a `height` x `width` image of 0 and 1.
 *
 * @throws {RangeError} When the text is not pairs of whole numbers, or a run
 * is empty, overlaps the previous one or leaves the image.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeRle } from "./rle.ts";
 * assert(decodeRle("1 2 5 2", 2, 3).join() === "1,1,0,0,1,1");
 * ```
 */
export function decodeRle(text: string, height: number, width: number): Uint8Array {
  const out = new Uint8Array(height * width);
  const words = text.trim() === "" ? [] : text.trim().split(/\s+/);
  if (words.length % 2) throw new RangeError("decodeRle: an odd number of values");
  let end = 0;
  for (let i = 0; i < words.length; i += 2) {
    const [start, length] = [Number(words[i]), Number(words[i + 1])];
    if (!/^\d+$/.test(words[i]) || !/^\d+$/.test(words[i + 1])) {
      throw new RangeError(`decodeRle: run ${i / 2 + 1} is not two whole numbers`);
    }
    if (start <= end || length < 1 || start - 1 + length > out.length) {
      throw new RangeError(
        `decodeRle: run ${
          i / 2 + 1
        } (${start} ${length}) is empty, overlaps the previous run or leaves the ${height}x${width} image`,
      );
    }
    out.fill(1, start - 1, start - 1 + length);
    end = start - 1 + length;
  }
  return out;
}

/** One row of a submission. */
export interface SubmissionRow {
  /** The fragment id. */
  id: string;
  /** Its RLE. */
  predicted: string;
}

/**
 * The submission CSV: a header `Id,Predicted`, then one line per row, as
 * pandas' `to_csv(index=False)` writes it (a field with a comma, a quote or
 * a line break is quoted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { submissionCsv } from "./rle.ts";
 * const csv = submissionCsv([{ id: "a", predicted: "1 2" }, { id: "b", predicted: "" }]);
 * assert(csv === "Id,Predicted\na,1 2\nb,\n");
 * ```
 */
export function submissionCsv(rows: readonly SubmissionRow[]): string {
  const field = (s: string) => /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  return ["Id,Predicted", ...rows.map((r) => `${field(r.id)},${field(r.predicted)}`), ""].join(
    "\n",
  );
}
