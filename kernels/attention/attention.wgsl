// attention: multi-head softmax(Q·Kᵀ·scale)·V with an online softmax, so
// the (Tq, Tk) score matrix never exists: memory is O(Tq·C).
//
// Q, K, V and O are token rows (B, T, ·) with heads as contiguous channel
// slices (channel = head·DH + d); each is addressed by a row stride and a
// column offset, so K and V may be slices of one fused qkv tensor.
//
// Each invocation owns 8 queries of one (batch item, head): their scaled
// queries and output accumulators stay in registers, and every key and value
// row loaded (2·DH scalars, the dominant cost on llvmpipe) serves 8 queries.
// Per key and query: s = q·k; m' = max(m, s); l = l·2^(m - m') + 2^(s - m');
// o = o·2^(m - m') + 2^(s - m')·v (scale·log2(e) is folded into q). Queries
// past Tq are clamped: they duplicate the last query and store the same
// values to the same place.

struct Params {
  tq: u32,          // queries per batch item in this dispatch
  tk: u32,          // keys per batch item
  items: u32,       // batch items in this dispatch
  heads: u32,
  q_ld: u32,        // row strides (elements)
  k_ld: u32,
  v_ld: u32,
  o_ld: u32,
  q_item: u32,      // batch item strides (elements)
  k_item: u32,
  v_item: u32,
  o_item: u32,
  q_base: u32,      // window offsets of row 0, channel 0 (column offsets included)
  k_base: u32,
  v_base: u32,
  o_base: u32,
  scale: f32,       // softmax scale times log2(e)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> o: array<f32>;

const DH: u32 = {{DH}}u; // head size: a multiple of 4 up to 64
const D4: u32 = DH / 4u;

// One head-sized vector (up to 64 values); fields past DH / 4 are unused
// and their guards (on the constant D4) fold away at compile time.
struct Head {
  h0: vec4<f32>,
  h1: vec4<f32>,
  h2: vec4<f32>,
  h3: vec4<f32>,
  h4: vec4<f32>,
  h5: vec4<f32>,
  h6: vec4<f32>,
  h7: vec4<f32>,
  h8: vec4<f32>,
  h9: vec4<f32>,
  h10: vec4<f32>,
  h11: vec4<f32>,
  h12: vec4<f32>,
  h13: vec4<f32>,
  h14: vec4<f32>,
  h15: vec4<f32>,
}

fn ld4(buf: u32, at: u32) -> vec4<f32> {
  if (buf == 0u) {
    return vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
  } else if (buf == 1u) {
    return vec4<f32>(k[at], k[at + 1u], k[at + 2u], k[at + 3u]);
  }
  return vec4<f32>(v[at], v[at + 1u], v[at + 2u], v[at + 3u]);
}

// DH values of buffer `buf` (0 q, 1 k, 2 v) from element `at`.
fn load_head(buf: u32, at: u32) -> Head {
  let z = vec4<f32>(0.0);
  var r = Head(z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z);
  r.h0 = ld4(buf, at + 0u);
  if (D4 > 1u) {
    r.h1 = ld4(buf, at + 4u);
  }
  if (D4 > 2u) {
    r.h2 = ld4(buf, at + 8u);
  }
  if (D4 > 3u) {
    r.h3 = ld4(buf, at + 12u);
  }
  if (D4 > 4u) {
    r.h4 = ld4(buf, at + 16u);
  }
  if (D4 > 5u) {
    r.h5 = ld4(buf, at + 20u);
  }
  if (D4 > 6u) {
    r.h6 = ld4(buf, at + 24u);
  }
  if (D4 > 7u) {
    r.h7 = ld4(buf, at + 28u);
  }
  if (D4 > 8u) {
    r.h8 = ld4(buf, at + 32u);
  }
  if (D4 > 9u) {
    r.h9 = ld4(buf, at + 36u);
  }
  if (D4 > 10u) {
    r.h10 = ld4(buf, at + 40u);
  }
  if (D4 > 11u) {
    r.h11 = ld4(buf, at + 44u);
  }
  if (D4 > 12u) {
    r.h12 = ld4(buf, at + 48u);
  }
  if (D4 > 13u) {
    r.h13 = ld4(buf, at + 52u);
  }
  if (D4 > 14u) {
    r.h14 = ld4(buf, at + 56u);
  }
  if (D4 > 15u) {
    r.h15 = ld4(buf, at + 60u);
  }
  return r;
}

fn dot_head(a: Head, b: Head) -> f32 {
  var s = 0.0;
  s += dot(a.h0, b.h0);
  if (D4 > 1u) {
    s += dot(a.h1, b.h1);
  }
  if (D4 > 2u) {
    s += dot(a.h2, b.h2);
  }
  if (D4 > 3u) {
    s += dot(a.h3, b.h3);
  }
  if (D4 > 4u) {
    s += dot(a.h4, b.h4);
  }
  if (D4 > 5u) {
    s += dot(a.h5, b.h5);
  }
  if (D4 > 6u) {
    s += dot(a.h6, b.h6);
  }
  if (D4 > 7u) {
    s += dot(a.h7, b.h7);
  }
  if (D4 > 8u) {
    s += dot(a.h8, b.h8);
  }
  if (D4 > 9u) {
    s += dot(a.h9, b.h9);
  }
  if (D4 > 10u) {
    s += dot(a.h10, b.h10);
  }
  if (D4 > 11u) {
    s += dot(a.h11, b.h11);
  }
  if (D4 > 12u) {
    s += dot(a.h12, b.h12);
  }
  if (D4 > 13u) {
    s += dot(a.h13, b.h13);
  }
  if (D4 > 14u) {
    s += dot(a.h14, b.h14);
  }
  if (D4 > 15u) {
    s += dot(a.h15, b.h15);
  }
  return s;
}

// a·x + b·y, field by field.
fn axpby(a: f32, x: Head, b: f32, y: Head) -> Head {
  var r = x;
  r.h0 = a * x.h0 + b * y.h0;
  if (D4 > 1u) {
    r.h1 = a * x.h1 + b * y.h1;
  }
  if (D4 > 2u) {
    r.h2 = a * x.h2 + b * y.h2;
  }
  if (D4 > 3u) {
    r.h3 = a * x.h3 + b * y.h3;
  }
  if (D4 > 4u) {
    r.h4 = a * x.h4 + b * y.h4;
  }
  if (D4 > 5u) {
    r.h5 = a * x.h5 + b * y.h5;
  }
  if (D4 > 6u) {
    r.h6 = a * x.h6 + b * y.h6;
  }
  if (D4 > 7u) {
    r.h7 = a * x.h7 + b * y.h7;
  }
  if (D4 > 8u) {
    r.h8 = a * x.h8 + b * y.h8;
  }
  if (D4 > 9u) {
    r.h9 = a * x.h9 + b * y.h9;
  }
  if (D4 > 10u) {
    r.h10 = a * x.h10 + b * y.h10;
  }
  if (D4 > 11u) {
    r.h11 = a * x.h11 + b * y.h11;
  }
  if (D4 > 12u) {
    r.h12 = a * x.h12 + b * y.h12;
  }
  if (D4 > 13u) {
    r.h13 = a * x.h13 + b * y.h13;
  }
  if (D4 > 14u) {
    r.h14 = a * x.h14 + b * y.h14;
  }
  if (D4 > 15u) {
    r.h15 = a * x.h15 + b * y.h15;
  }
  return r;
}

fn st4(at: u32, x: vec4<f32>) {
  o[at] = x.x;
  o[at + 1u] = x.y;
  o[at + 2u] = x.z;
  o[at + 3u] = x.w;
}

fn store_head(at: u32, x: Head) {
  st4(at + 0u, x.h0);
  if (D4 > 1u) {
    st4(at + 4u, x.h1);
  }
  if (D4 > 2u) {
    st4(at + 8u, x.h2);
  }
  if (D4 > 3u) {
    st4(at + 12u, x.h3);
  }
  if (D4 > 4u) {
    st4(at + 16u, x.h4);
  }
  if (D4 > 5u) {
    st4(at + 20u, x.h5);
  }
  if (D4 > 6u) {
    st4(at + 24u, x.h6);
  }
  if (D4 > 7u) {
    st4(at + 28u, x.h7);
  }
  if (D4 > 8u) {
    st4(at + 32u, x.h8);
  }
  if (D4 > 9u) {
    st4(at + 36u, x.h9);
  }
  if (D4 > 10u) {
    st4(at + 40u, x.h10);
  }
  if (D4 > 11u) {
    st4(at + 44u, x.h11);
  }
  if (D4 > 12u) {
    st4(at + 48u, x.h12);
  }
  if (D4 > 13u) {
    st4(at + 52u, x.h13);
  }
  if (D4 > 14u) {
    st4(at + 56u, x.h14);
  }
  if (D4 > 15u) {
    st4(at + 60u, x.h15);
  }
}

// Running state of one query: max, sum, output accumulator.
struct Row {
  m: f32,
  l: f32,
  acc: Head,
}

fn step(r: Row, s: f32, val: Head) -> Row {
  let m = max(r.m, s);
  let corr = exp2(r.m - m);
  let e = exp2(s - m);
  return Row(m, r.l * corr + e, axpby(corr, r.acc, e, val));
}

fn load_q(item: u32, t: u32, h: u32) -> Head {
  let at = p.q_base + item * p.q_item + min(t, p.tq - 1u) * p.q_ld + h * DH;
  let x = load_head(0u, at);
  return axpby(p.scale, x, 0.0, x);
}

fn finish(item: u32, t: u32, h: u32, r: Row) {
  let at = p.o_base + item * p.o_item + min(t, p.tq - 1u) * p.o_ld + h * DH;
  store_head(at, axpby(1.0 / r.l, r.acc, 0.0, r.acc));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let blocks = (p.tq + 7u) / 8u;
  let h = (i / blocks) % p.heads;
  let item = i / (blocks * p.heads);
  if (item >= p.items) {
    return;
  }
  let t = (i % blocks) * 8u;
  let q0 = load_q(item, t, h);
  let q1 = load_q(item, t + 1u, h);
  let q2 = load_q(item, t + 2u, h);
  let q3 = load_q(item, t + 3u, h);
  let q4 = load_q(item, t + 4u, h);
  let q5 = load_q(item, t + 5u, h);
  let q6 = load_q(item, t + 6u, h);
  let q7 = load_q(item, t + 7u, h);
  let z = vec4<f32>(0.0);
  // A finite "minus infinity": exp2(-3e38 - s) is 0, never NaN.
  var r0 = Row(-3.0e38, 0.0, Head(z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z));
  var r1 = r0;
  var r2 = r0;
  var r3 = r0;
  var r4 = r0;
  var r5 = r0;
  var r6 = r0;
  var r7 = r0;
  let kb = p.k_base + item * p.k_item + h * DH;
  let vb = p.v_base + item * p.v_item + h * DH;
  for (var j = 0u; j < p.tk; j++) {
    let key = load_head(1u, kb + j * p.k_ld);
    let val = load_head(2u, vb + j * p.v_ld);
    r0 = step(r0, dot_head(q0, key), val);
    r1 = step(r1, dot_head(q1, key), val);
    r2 = step(r2, dot_head(q2, key), val);
    r3 = step(r3, dot_head(q3, key), val);
    r4 = step(r4, dot_head(q4, key), val);
    r5 = step(r5, dot_head(q5, key), val);
    r6 = step(r6, dot_head(q6, key), val);
    r7 = step(r7, dot_head(q7, key), val);
  }
  finish(item, t, h, r0);
  finish(item, t + 1u, h, r1);
  finish(item, t + 2u, h, r2);
  finish(item, t + 3u, h, r3);
  finish(item, t + 4u, h, r4);
  finish(item, t + 5u, h, r5);
  finish(item, t + 6u, h, r6);
  finish(item, t + 7u, h, r7);
}
