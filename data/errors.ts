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
  /** Always "UserError", so that it survives being rethrown or serialised. */
  override name = "UserError";
  /** Makes the error; line breaks in `message` become single spaces. */
  constructor(message: string, options?: ErrorOptions) {
    super(message.replace(/\s*\n\s*/g, " "), options);
  }
}

/** Quotes a value for an error message. */
export function q(value: unknown): string {
  return JSON.stringify(String(value));
}

/**
 * Words for a file-system error in a message: "file not found" for a
 * missing path, "permission denied", else the error's own message.
 *
 * @example
 * ```ts
 * import { fsReason } from "./errors.ts";
 * console.assert(fsReason(new Deno.errors.NotFound("x")) === "file not found");
 * ```
 */
export function fsReason(err: unknown): string {
  if (err instanceof Deno.errors.NotFound) return "file not found";
  if (err instanceof Deno.errors.PermissionDenied) return "permission denied";
  return err instanceof Error ? err.message : String(err);
}
