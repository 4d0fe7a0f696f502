/**
 * Helpers for the post-processing tests: golden fixtures and bands.
 *
 * @module
 */

import { readPng } from "../data/png.ts";
import type { Band, BinaryImage } from "./components.ts";

/** The folder of the golden fixtures. */
export const TESTDATA = new URL("./testdata/", import.meta.url).pathname;

/** Reads a JSON fixture. */
export async function readJson(name: string) {
  return JSON.parse(await Deno.readTextFile(TESTDATA + name));
}

/** Reads an 8-bit PNG fixture as a binary image. */
export async function readBinary(name: string): Promise<BinaryImage> {
  const { height, width, data } = await readPng(TESTDATA + name);
  return { height, width, data: data as Uint8Array };
}

/** The rows of an image as bands of `rows` rows (views, not copies). */
export function* bands(image: BinaryImage, rows: number): Generator<Band> {
  for (let y0 = 0; y0 < image.height; y0 += rows) {
    const y1 = Math.min(y0 + rows, image.height);
    yield { y0, data: image.data.subarray(y0 * image.width, y1 * image.width) };
  }
}

/** Joins arrays into one. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The hex SHA-256 of bytes or of a string's UTF-8. */
export async function sha256(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}
