/**
 * Errors meant for people. The CLI prints a `UserError` as one line, without
 * a stack trace, and exits non-zero; any other error is a bug and keeps its
 * stack.
 *
 * @module
 */

/**
 * A one-line error about the user's input: a file, a pipeline node or a
 * parameter. The message names the thing (quoted) and what is wrong, in
 * sentence case without a trailing period.
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * const err = new UserError(`Cannot read "a.tif": file not found`);
 * console.assert(err.message.startsWith("Cannot read"));
 * ```
 */
export class UserError extends Error {
  override name = "UserError";
  constructor(message: string, options?: ErrorOptions) {
    super(message.replace(/\s*\n\s*/g, " "), options);
  }
}

/** Quotes a value for an error message. */
export function q(value: unknown): string {
  return JSON.stringify(String(value));
}
