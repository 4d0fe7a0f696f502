/**
 * A small seeded pseudo-random generator for training: xoshiro128** (32-bit
 * words, period 2^128 - 1) seeded through splitmix32. Everything a training
 * run draws on the host (shuffles, augmentation parameters, noise seeds)
 * comes from one of these, so a run is reproducible from its seed and can be
 * resumed exactly from {@linkcode Rng.state}.
 *
 * @module
 */

const TWO_32 = 4294967296;

/** splitmix32: a well-mixed 32-bit value from a 32-bit counter. */
function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** Four state words from a counter through splitmix32, never all zero. */
function seedWords(x: number): [number, number, number, number] {
  const s: [number, number, number, number] = [0, 0, 0, 0];
  let c = x >>> 0;
  for (let i = 0; i < 4; i++) {
    c = (c + 0x9e3779b9) >>> 0;
    s[i] = splitmix32(c);
  }
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
  return s;
}

/**
 * A seeded generator (xoshiro128**). Same seed, same sequence, on every
 * platform: all arithmetic is on 32-bit integers.
 *
 * @example
 * ```ts
 * import { Rng } from "./rng.ts";
 * const a = new Rng(42);
 * const b = Rng.fromState(a.state());
 * console.assert(a.next() === b.next());
 * ```
 */
export class Rng {
  #s: [number, number, number, number];

  /** A generator seeded from `seed` (any finite number; its integer part up to 2^53 is used). */
  constructor(seed: number) {
    if (!Number.isFinite(seed)) {
      throw new Error(`Rng: the seed must be a finite number, got ${seed}`);
    }
    const n = Math.trunc(Math.abs(seed));
    const lo = n % TWO_32;
    const hi = Math.floor(n / TWO_32) % TWO_32;
    // Fold the high word and the sign into the counter so distinct seeds give distinct streams.
    this.#s = seedWords((lo ^ splitmix32(hi + (seed < 0 ? 0x5bd1e995 : 0))) >>> 0);
  }

  /** The next 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** A uniform number in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.u32() >>> 5; // 27 bits
    const lo = this.u32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in 0..n-1 (unbiased; `n` an integer in 1..2^32). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_32) {
      throw new Error(`Rng.int: n must be an integer in 1..2^32, got ${n}`);
    }
    if (n === TWO_32) return this.u32();
    // Rejection of the top partial block keeps every value equally likely.
    const limit = TWO_32 - (TWO_32 % n);
    for (;;) {
      const x = this.u32();
      if (x < limit) return x % n;
    }
  }

  /** A uniform number in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** A standard normal number (Box-Muller; one pair of uniforms per call). */
  normal(): number {
    const u1 = 1 - this.next(); // (0, 1]
    const u2 = this.next();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T>(a: T[]): T[] {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** The generator's state: four 32-bit words. {@linkcode Rng.fromState} resumes from it exactly. */
  state(): number[] {
    return [...this.#s];
  }

  /** A generator that continues exactly where the one whose {@linkcode Rng.state} was taken was. */
  static fromState(s: readonly number[]): Rng {
    if (
      s.length !== 4 || !s.every((w) => Number.isInteger(w) && w >= 0 && w < TWO_32) ||
      s.every((w) => w === 0)
    ) {
      throw new Error(
        `Rng.fromState: expected four 32-bit unsigned words, not all zero, got [${s.join(", ")}]`,
      );
    }
    const r = new Rng(0);
    r.#s = [s[0], s[1], s[2], s[3]];
    return r;
  }

  /**
   * A new generator for an independent stream, derived deterministically
   * from this one (which advances by four draws): its state is four draws
   * mixed again through splitmix32.
   */
  fork(): Rng {
    const w = [this.u32(), this.u32(), this.u32(), this.u32()];
    const s = w.map((x, i) => splitmix32((x ^ Math.imul(i + 1, 0x632be5ab)) >>> 0));
    if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1;
    return Rng.fromState(s);
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
