import assert from "node:assert/strict";
import { Rng } from "./rng.ts";

Deno.test("Rng.u32 is xoshiro128** (reference outputs from state [1, 2, 3, 4])", () => {
  const r = Rng.fromState([1, 2, 3, 4]);
  const got = Array.from({ length: 6 }, () => r.u32());
  assert.deepEqual(got, [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

Deno.test("Rng is reproducible from its seed and distinct seeds give distinct streams", () => {
  const draw = (seed: number) => {
    const r = new Rng(seed);
    return [r.next(), r.int(1000), r.uniform(-2, 3), r.normal(), r.u32()];
  };
  assert.deepEqual(draw(42), draw(42));
  const streams = [0, 1, 2, 42, -42, 2 ** 32, 2 ** 32 + 1, 2 ** 52].map((s) => draw(s)[4]);
  assert.equal(new Set(streams).size, streams.length);
  assert.throws(() => new Rng(NaN), /finite/);
});

Deno.test("Rng state round trip resumes exactly", () => {
  const a = new Rng(7);
  for (let i = 0; i < 37; i++) a.next();
  const s = a.state();
  const b = Rng.fromState(s);
  for (let i = 0; i < 100; i++) {
    assert.equal(a.u32(), b.u32());
    assert.equal(a.normal(), b.normal());
    assert.equal(a.int(17), b.int(17));
  }
  assert.deepEqual(a.state(), b.state());
  // The returned state is a copy.
  s[0] = (s[0] ^ 1) >>> 0;
  assert.notDeepEqual(Rng.fromState(s).state(), Rng.fromState(a.state()).state());
  assert.throws(() => Rng.fromState([0, 0, 0, 0]), /not all zero/);
  assert.throws(() => Rng.fromState([1, 2, 3]), /four/);
  assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 32]), /32-bit/);
});

Deno.test("Rng is roughly uniform: next, int, uniform, normal moments", () => {
  const r = new Rng(123);
  const n = 200_000;
  const bins = new Array(10).fill(0);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    bins[Math.floor(x * 10)]++;
    sum += x;
  }
  // chi-square with 9 degrees of freedom: p = 0.999 at 27.9
  const e = n / 10;
  const chi2 = bins.reduce((a, b) => a + (b - e) ** 2 / e, 0);
  assert.ok(chi2 < 27.9, `chi2 ${chi2}`);
  assert.ok(Math.abs(sum / n - 0.5) < 0.005);

  const counts = new Array(7).fill(0);
  for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
  for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `int(7) counts ${counts}`);

  for (let i = 0; i < 1000; i++) {
    const u = r.uniform(-3, 5);
    assert.ok(u >= -3 && u < 5);
  }

  let m1 = 0;
  let m2 = 0;
  const m = 100_000;
  for (let i = 0; i < m; i++) {
    const z = r.normal();
    m1 += z;
    m2 += z * z;
  }
  assert.ok(Math.abs(m1 / m) < 0.02, `normal mean ${m1 / m}`);
  assert.ok(Math.abs(m2 / m - 1) < 0.03, `normal variance ${m2 / m}`);
});

Deno.test("Rng.int covers 1..2^32 bounds and rejects bad n", () => {
  const r = new Rng(5);
  assert.equal(r.int(1), 0);
  const x = r.int(2 ** 32);
  assert.ok(Number.isInteger(x) && x >= 0 && x < 2 ** 32);
  for (const bad of [0, -1, 1.5, 2 ** 32 + 1]) assert.throws(() => r.int(bad), /integer/);
});

Deno.test("Rng.shuffle is an in-place permutation, reproducible", () => {
  const a = Array.from({ length: 50 }, (_, i) => i);
  const b = [...a];
  const out = new Rng(9).shuffle(a);
  assert.equal(out, a);
  new Rng(9).shuffle(b);
  assert.deepEqual(a, b);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 50 }, (_, i) => i));
  // Every position is reached: first element's final position over many shuffles.
  const pos = new Array(5).fill(0);
  const r = new Rng(10);
  for (let i = 0; i < 5000; i++) pos[r.shuffle([0, 1, 2, 3, 4]).indexOf(0)]++;
  for (const p of pos) assert.ok(Math.abs(p - 1000) < 150, `positions ${pos}`);
});

Deno.test("Rng.fork is deterministic and independent of the parent's continuation", () => {
  const a = new Rng(11);
  const b = new Rng(11);
  const fa = a.fork();
  const fb = b.fork();
  assert.deepEqual(fa.state(), fb.state());
  assert.deepEqual(a.state(), b.state());
  const child = Array.from({ length: 8 }, () => fa.u32());
  const parent = Array.from({ length: 8 }, () => a.u32());
  assert.notDeepEqual(child, parent);
  // Two forks in a row differ.
  assert.notDeepEqual(b.fork().state(), b.fork().state());
  // Correlation between a fork and its parent is small.
  const c = new Rng(12);
  const f = c.fork();
  let s = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) s += (c.next() - 0.5) * (f.next() - 0.5);
  assert.ok(Math.abs(s / n) < 0.005, `covariance ${s / n}`);
});
