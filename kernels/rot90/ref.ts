/**
 * Plain TypeScript reference for `rot90`, written the way PyTorch computes
 * `torch.rot90(x, k, dims=(-2, -1))`: `k % 4` quarter turns as
 * `flip(W).transpose` (k = 1), `flip(H, W)` (k = 2) or `flip(H).transpose`
 * (k = 3); and the seed's TTA built from it.
 *
 * @module
 */

import type { Rot90Variant } from "./mod.ts";

/** A host tensor whose last two dimensions are the planes. */
export interface HostPlanes {
  data: Float32Array;
  shape: number[];
}

function dims(x: HostPlanes): { stacks: number; h: number; w: number } {
  const h = x.shape[x.shape.length - 2];
  const w = x.shape[x.shape.length - 1];
  return { stacks: h * w === 0 ? 0 : x.data.length / (h * w), h, w };
}

/** `torch.flip(x, dims=(-1,))` (`axis` "w") or `dims=(-2,)` (`axis` "h"). */
export function flipRef(x: HostPlanes, axis: "h" | "w"): HostPlanes {
  const { stacks, h, w } = dims(x);
  const out = new Float32Array(x.data.length);
  for (let s = 0; s < stacks; s++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) {
        const [sr, sc] = axis === "w" ? [r, w - 1 - c] : [h - 1 - r, c];
        out[(s * h + r) * w + c] = x.data[(s * h + sr) * w + sc];
      }
    }
  }
  return { data: out, shape: [...x.shape] };
}

/** `x.transpose(-2, -1)`. */
export function transposeRef(x: HostPlanes): HostPlanes {
  const { stacks, h, w } = dims(x);
  const out = new Float32Array(x.data.length);
  for (let s = 0; s < stacks; s++) {
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < w; c++) out[(s * w + c) * h + r] = x.data[(s * h + r) * w + c];
    }
  }
  return { data: out, shape: [...x.shape.slice(0, -2), w, h] };
}

/** `torch.rot90(x, k, dims=(-2, -1))`, after `torch.flip(x, dims=(-1,))` when `flip`. */
export function rot90Ref(x: HostPlanes, k: number, flip = false): HostPlanes {
  const src = flip ? flipRef(x, "w") : x;
  const turns = ((k % 4) + 4) % 4; // Python's k % 4
  if (turns === 1) return transposeRef(flipRef(src, "w"));
  if (turns === 2) return flipRef(flipRef(src, "h"), "w");
  if (turns === 3) return transposeRef(flipRef(src, "h"));
  return { data: src.data.slice(), shape: [...src.shape] };
}

/** The inverse of one variant, step by step: rotate by -k, then undo the flip. */
export function undoVariantRef(x: HostPlanes, v: Rot90Variant): HostPlanes {
  const back = rot90Ref(x, -v.k);
  return v.flip ? flipRef(back, "w") : back;
}

/** Items `[from, to)` of the leading dimension. */
export function itemsRef(x: HostPlanes, from: number, to: number): HostPlanes {
  const per = x.data.length / x.shape[0];
  return { data: x.data.slice(from * per, to * per), shape: [to - from, ...x.shape.slice(1)] };
}

/** Concatenation along the leading dimension. */
export function concatRef(parts: HostPlanes[]): HostPlanes {
  const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { data, shape: [parts.reduce((n, p) => n + p.shape[0], 0), ...parts[0].shape.slice(1)] };
}

/** TTA expand of the first `tiles` items: variant g of item b at g * tiles + b. */
export function ttaExpandRef(
  x: HostPlanes,
  variants: readonly Rot90Variant[],
  tiles = x.shape[0],
): HostPlanes {
  const items = itemsRef(x, 0, tiles);
  return concatRef(variants.map((v) => rot90Ref(items, v.k, v.flip)));
}

/**
 * The seed's TTA merge: the mean over variants of each variant's output
 * transformed back (`y` holds G blocks of `tiles` items, variant-major).
 */
export function ttaMergeRef(
  y: HostPlanes,
  variants: readonly Rot90Variant[],
  tiles = y.shape[0] / variants.length,
): HostPlanes {
  const out = new Float32Array(y.data.length / y.shape[0] * tiles);
  variants.forEach((v, g) => {
    const back = undoVariantRef(itemsRef(y, g * tiles, (g + 1) * tiles), v);
    for (let i = 0; i < out.length; i++) out[i] += back.data[i];
  });
  for (let i = 0; i < out.length; i++) out[i] *= 1 / variants.length;
  return { data: out, shape: [tiles, ...y.shape.slice(1)] };
}
