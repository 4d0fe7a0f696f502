// Shared by the attention backward kernels (prepended to each by the
// launcher): their uniforms, row addressing, and head-sized vectors.
//
// q, dout and dq are (B, Tq, C), k, v, dk and dv (B, Tk, C), C = H·DH with
// heads as contiguous channel slices (channel = head·DH + d). stats holds
// (B, H, Tq, 2): per query the log2-domain logsumexp of its scaled scores
// and D = dout·out.
//
// A Head holds DH values (a multiple of 4 up to 64) in 16 vec4 fields;
// fields past DH / 4 are unused and their guards (on the constant D4) fold
// away at compile time, so every value stays in registers. Each kernel
// defines `ld4(buf, at)` and `st4(buf, at, x)` for its own buffers.

struct Params {
  tq: u32,       // queries per batch item
  tk: u32,       // keys per batch item
  items: u32,    // batch items
  heads: u32,
  c: u32,        // channels H·DH, the row stride of every tensor
  scale2: f32,   // softmax scale times log2(e)
  scale: f32,    // softmax scale
  chunk: u32,    // dk/dv kernel: queries per split (each split writes partial sums)
}

@group(0) @binding(0) var<uniform> p: Params;

const DH: u32 = {{DH}}u;
const D4: u32 = DH / 4u;

// Element offset of head h of query row t (clamped to the last query).
fn q_row(item: u32, t: u32, h: u32) -> u32 {
  return (item * p.tq + min(t, p.tq - 1u)) * p.c + h * DH;
}

// Element offset of head h of key row j (clamped to the last key).
fn k_row(item: u32, j: u32, h: u32) -> u32 {
  return (item * p.tk + min(j, p.tk - 1u)) * p.c + h * DH;
}

// Index of the (logsumexp, D) pair of query t (clamped) of head h.
fn stat_at(item: u32, t: u32, h: u32) -> u32 {
  return 2u * ((item * p.heads + h) * p.tq + min(t, p.tq - 1u));
}

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

fn zero_head() -> Head {
  let z = vec4<f32>(0.0);
  return Head(z, z, z, z, z, z, z, z, z, z, z, z, z, z, z, z);
}

// DH values of buffer `buf` from element `at`.
fn load_head(buf: u32, at: u32) -> Head {
  var r = zero_head();
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

fn store_head(buf: u32, at: u32, x: Head) {
  st4(buf, at + 0u, x.h0);
  if (D4 > 1u) {
    st4(buf, at + 4u, x.h1);
  }
  if (D4 > 2u) {
    st4(buf, at + 8u, x.h2);
  }
  if (D4 > 3u) {
    st4(buf, at + 12u, x.h3);
  }
  if (D4 > 4u) {
    st4(buf, at + 16u, x.h4);
  }
  if (D4 > 5u) {
    st4(buf, at + 20u, x.h5);
  }
  if (D4 > 6u) {
    st4(buf, at + 24u, x.h6);
  }
  if (D4 > 7u) {
    st4(buf, at + 28u, x.h7);
  }
  if (D4 > 8u) {
    st4(buf, at + 32u, x.h8);
  }
  if (D4 > 9u) {
    st4(buf, at + 36u, x.h9);
  }
  if (D4 > 10u) {
    st4(buf, at + 40u, x.h10);
  }
  if (D4 > 11u) {
    st4(buf, at + 44u, x.h11);
  }
  if (D4 > 12u) {
    st4(buf, at + 48u, x.h12);
  }
  if (D4 > 13u) {
    st4(buf, at + 52u, x.h13);
  }
  if (D4 > 14u) {
    st4(buf, at + 56u, x.h14);
  }
  if (D4 > 15u) {
    st4(buf, at + 60u, x.h15);
  }
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
