/**
 * State-dict keys: an optional `module.` prefix, sub-dicts under a prefix,
 * and strict checks of keys and shapes against what a network expects.
 *
 * @module
 */

import { q, UserError } from "../errors.ts";
import { formatShape, StateDict } from "./tensor.ts";

/**
 * Removes an optional leading `prefix` (by default `module.`, which
 * `DataParallel` and the seed's SWA checkpoints put on every key) from each
 * key; keys without it are kept as they are.
 *
 * @throws {UserError} When a key is there both with and without the prefix.
 *
 * @example
 * ```ts
 * import { StateDict, stripPrefix, tensorFrom } from "./mod.ts";
 * const t = tensorFrom({ shape: [1], data: new Float32Array(1) });
 * const dict = stripPrefix(new StateDict("swa.pth", [["module.conv.bias", t]]));
 * console.assert([...dict.keys()].join() === "conv.bias");
 * ```
 */
export function stripPrefix(dict: StateDict, prefix = "module."): StateDict {
  const out = new StateDict(dict.path);
  for (const [key, tensor] of dict) {
    const name = key.startsWith(prefix) ? key.slice(prefix.length) : key;
    if (out.has(name)) {
      throw new UserError(
        `Checkpoint ${q(dict.path)} has both ${q(name)} and ${q(prefix + name)}`,
      );
    }
    out.set(name, tensor);
  }
  return out;
}

/**
 * The tensors whose keys start with `prefix`, with it removed; a prefix
 * that does not end in "." gets one, so "encoder_2d" selects
 * "encoder_2d.x" but not "encoder_2dx".
 *
 * @example
 * ```ts
 * import { selectPrefix, StateDict, tensorFrom } from "./mod.ts";
 * const t = tensorFrom({ shape: [1], data: new Float32Array(1) });
 * const dict = new StateDict("m.pth", [["encoder_2d.a", t], ["upscaler1.bias", t]]);
 * console.assert([...selectPrefix(dict, "encoder_2d").keys()].join() === "a");
 * ```
 */
export function selectPrefix(dict: StateDict, prefix: string): StateDict {
  const dotted = prefix && !prefix.endsWith(".") ? `${prefix}.` : prefix;
  return new StateDict(
    dict.path,
    [...dict].filter(([key]) => key.startsWith(dotted)).map((
      [key, t],
    ) => [key.slice(dotted.length), t]),
  );
}

/** How many keys of each kind {@linkcode checkKeys} names before "...". */
const SHOWN = 3;

/**
 * Checks that a state dict has exactly the `expected` keys with these
 * shapes, and throws one error listing the missing, unexpected and wrongly
 * shaped keys (the first few of each, and their counts).
 *
 * @param what The network, for the message ("cnn3d").
 * @throws {UserError} `Checkpoint "m.pth" does not match cnn3d: 2 missing
 * (conv3d_4.weight, conv3d_4.bias), 1 unexpected (foo), 1 wrong shape
 * (conv3d_1.weight: (4, 1, 3, 3, 3) expected, (8, 1, 3, 3, 3) found)`
 *
 * @example
 * ```ts
 * import { checkKeys, StateDict, tensorFrom } from "./mod.ts";
 * const dict = new StateDict("m.pth", [
 *   ["bias", tensorFrom({ shape: [4], data: new Float32Array(4) })],
 * ]);
 * checkKeys(dict, new Map([["bias", [4]]]), "head"); // passes
 * ```
 */
export function checkKeys(
  dict: StateDict,
  expected: ReadonlyMap<string, readonly number[]>,
  what: string,
): void {
  const missing = [...expected.keys()].filter((key) => !dict.has(key));
  const unexpected = [...dict.keys()].filter((key) => !expected.has(key));
  const wrong = [...dict].flatMap(([key, { shape }]) => {
    const want = expected.get(key);
    return want && want.join() !== shape.join()
      ? [`${key}: ${formatShape(want)} expected, ${formatShape(shape)} found`]
      : [];
  });
  const parts = [
    [missing, "missing", "missing"],
    [unexpected, "unexpected", "unexpected"],
    [wrong, "wrong shape", "wrong shapes"],
  ] as const;
  const problems = parts.filter(([list]) => list.length).map(([list, one, many]) =>
    `${list.length} ${list.length === 1 ? one : many} (${list.slice(0, SHOWN).join(", ")}${
      list.length > SHOWN ? ", ..." : ""
    })`
  );
  if (problems.length) {
    throw new UserError(
      `Checkpoint ${q(dict.path)} does not match ${what}: ${problems.join(", ")}`,
    );
  }
}
