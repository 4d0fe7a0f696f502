{{ENABLE}}
// matmul: C (M, N) = A (M, K) · B (+ bias) (+ C), where B is (K, N) ("nn")
// or (N, K) ("nt", PyTorch Linear weights). Every matrix is addressed by an
// element offset and a row stride, so the launcher can point it at a window
// of a larger tensor, a batch item or a column slice.
//
// On llvmpipe (Mesa 22) every storage load is a per-lane loop: it costs the
// same per scalar whatever its width or uniformity, about a hundred FMAs,
// while registers (spilled or not) are cheap. So each invocation computes a
// {{ROWS}} x 16 block of C: per step of 4 along K it loads 4 x 16 values of
// B and 4 values of each of its rows of A for 64 FMAs per row (1024 FMAs
// per 128 loads). No workgroup memory, no barriers (both slower there). The
// block is unrolled by hand: loops over arrays end up in scratch memory
// (2.5x slower).
//
// Edges: rows past M and columns past N are clamped, on load and on store;
// K steps by 4 with the tail masked to zero. Bias and, in the "acc" variant,
// C's old contents are the accumulators' starting values.

struct Params {
  m: u32,
  n: u32,
  k: u32,
  lda: u32,        // row strides in elements
  ldb: u32,
  ldc: u32,
  a_base: u32,     // element offsets inside the bound windows
  b_base: u32,
  c_base: u32,
  bias_base: u32,
  bias_mode: u32,  // 0 none, 1 one per column (Linear), 2 one per row (1x1 conv)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<T>;
@group(0) @binding(2) var<storage, read> b: array<T>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> c: array<T>;
// The same windows of A and B as vec4 (variant "vec": bases, row strides and
// K multiples of 4, and in layout "nn" N a multiple of 16). A vec4 load costs
// about two scalar ones, so the variant loads half as much per FMA.
@group(0) @binding(5) var<storage, read> a4: array<vec4<T>>;
@group(0) @binding(6) var<storage, read> b4: array<vec4<T>>;

const layout_nn: u32 = 0u;
const layout_nt: u32 = 1u;
const LAYOUT: u32 = layout_{{LAYOUT}};
// Element type of A, B and C: f32, or f16 ("f16" variants: storage only; sums stay f32).
alias T = {{T}};
const ROWS: u32 = {{ROWS}}u;
// Variant "acc" adds to C's contents (later chunks of a split K); compiled only when used.
const ACCUMULATE: bool = {{ACCUMULATE}};
const VEC: bool = {{VEC}};

// 16 consecutive columns of one row.
struct Cols {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
}

// A 4 (K) x 16 (N) tile of B.
struct Tile {
  k0: Cols,
  k1: Cols,
  k2: Cols,
  k3: Cols,
}

// B[kk][col] with col clamped to N - 1 and kk past K read as zero.
fn load_b(kk: u32, col: u32) -> f32 {
  let cc = min(col, p.n - 1u);
  let kc = min(kk, p.k - 1u);
  var at: u32;
  if (LAYOUT == layout_nn) {
    at = p.b_base + kc * p.ldb + cc;
  } else {
    at = p.b_base + cc * p.ldb + kc;
  }
  return select(0.0, f32(b[at]), kk < p.k);
}

fn load_b4(kk: u32, col: u32) -> vec4<f32> {
  return vec4<f32>(load_b(kk, col), load_b(kk, col + 1u), load_b(kk, col + 2u), load_b(kk, col + 3u));
}

fn load_cols(kk: u32, col: u32) -> Cols {
  return Cols(load_b4(kk, col), load_b4(kk, col + 4u), load_b4(kk, col + 8u), load_b4(kk, col + 12u));
}

fn load_tile(k0: u32, col: u32) -> Tile {
  if (VEC) {
    return load_tile4(k0, col);
  }
  return Tile(load_cols(k0, col), load_cols(k0 + 1u, col), load_cols(k0 + 2u, col), load_cols(k0 + 3u, col));
}

// B's column c (layout "nt": a row of B) at k0 .. k0 + 3, column clamped.
fn load_bt4(k0: u32, col: u32) -> vec4<f32> {
  return vec4<f32>(b4[(p.b_base + min(col, p.n - 1u) * p.ldb + k0) / 4u]);
}

// The "vec" variant's tile: one vec4 per row of B (layout "nn"), or per column
// transposed into rows (layout "nt"; component shuffles cost nothing).
fn load_tile4(k0: u32, col: u32) -> Tile {
  if (LAYOUT == layout_nn) {
    let at = (p.b_base + k0 * p.ldb + col) / 4u;
    let s = p.ldb / 4u;
    return Tile(
      Cols(vec4<f32>(b4[at]), vec4<f32>(b4[at + 1u]), vec4<f32>(b4[at + 2u]), vec4<f32>(b4[at + 3u])),
      Cols(vec4<f32>(b4[at + s]), vec4<f32>(b4[at + s + 1u]), vec4<f32>(b4[at + s + 2u]), vec4<f32>(b4[at + s + 3u])),
      Cols(vec4<f32>(b4[at + 2u * s]), vec4<f32>(b4[at + 2u * s + 1u]), vec4<f32>(b4[at + 2u * s + 2u]), vec4<f32>(b4[at + 2u * s + 3u])),
      Cols(vec4<f32>(b4[at + 3u * s]), vec4<f32>(b4[at + 3u * s + 1u]), vec4<f32>(b4[at + 3u * s + 2u]), vec4<f32>(b4[at + 3u * s + 3u])),
    );
  }
  let v0 = load_bt4(k0, col);
  let v1 = load_bt4(k0, col + 1u);
  let v2 = load_bt4(k0, col + 2u);
  let v3 = load_bt4(k0, col + 3u);
  let v4 = load_bt4(k0, col + 4u);
  let v5 = load_bt4(k0, col + 5u);
  let v6 = load_bt4(k0, col + 6u);
  let v7 = load_bt4(k0, col + 7u);
  let v8 = load_bt4(k0, col + 8u);
  let v9 = load_bt4(k0, col + 9u);
  let v10 = load_bt4(k0, col + 10u);
  let v11 = load_bt4(k0, col + 11u);
  let v12 = load_bt4(k0, col + 12u);
  let v13 = load_bt4(k0, col + 13u);
  let v14 = load_bt4(k0, col + 14u);
  let v15 = load_bt4(k0, col + 15u);
  return Tile(
    Cols(
      vec4<f32>(v0.x, v1.x, v2.x, v3.x),
      vec4<f32>(v4.x, v5.x, v6.x, v7.x),
      vec4<f32>(v8.x, v9.x, v10.x, v11.x),
      vec4<f32>(v12.x, v13.x, v14.x, v15.x),
    ),
    Cols(
      vec4<f32>(v0.y, v1.y, v2.y, v3.y),
      vec4<f32>(v4.y, v5.y, v6.y, v7.y),
      vec4<f32>(v8.y, v9.y, v10.y, v11.y),
      vec4<f32>(v12.y, v13.y, v14.y, v15.y),
    ),
    Cols(
      vec4<f32>(v0.z, v1.z, v2.z, v3.z),
      vec4<f32>(v4.z, v5.z, v6.z, v7.z),
      vec4<f32>(v8.z, v9.z, v10.z, v11.z),
      vec4<f32>(v12.z, v13.z, v14.z, v15.z),
    ),
    Cols(
      vec4<f32>(v0.w, v1.w, v2.w, v3.w),
      vec4<f32>(v4.w, v5.w, v6.w, v7.w),
      vec4<f32>(v8.w, v9.w, v10.w, v11.w),
      vec4<f32>(v12.w, v13.w, v14.w, v15.w),
    ),
  );
}

// A[row][k0 .. k0 + 3], row clamped, K tail zero.
fn load_a(row: u32, k0: u32) -> vec4<f32> {
  if (VEC) {
    return vec4<f32>(a4[(p.a_base + min(row, p.m - 1u) * p.lda + k0) / 4u]);
  }
  let at = p.a_base + min(row, p.m - 1u) * p.lda;
  let last = p.k - 1u;
  return vec4<f32>(
    f32(a[at + k0]),
    select(0.0, f32(a[at + min(k0 + 1u, last)]), k0 + 1u < p.k),
    select(0.0, f32(a[at + min(k0 + 2u, last)]), k0 + 2u < p.k),
    select(0.0, f32(a[at + min(k0 + 3u, last)]), k0 + 3u < p.k),
  );
}

fn fma_row(acc: Cols, x: vec4<f32>, t: Tile) -> Cols {
  return Cols(
    acc.c0 + x.x * t.k0.c0 + x.y * t.k1.c0 + x.z * t.k2.c0 + x.w * t.k3.c0,
    acc.c1 + x.x * t.k0.c1 + x.y * t.k1.c1 + x.z * t.k2.c1 + x.w * t.k3.c1,
    acc.c2 + x.x * t.k0.c2 + x.y * t.k1.c2 + x.z * t.k2.c2 + x.w * t.k3.c2,
    acc.c3 + x.x * t.k0.c3 + x.y * t.k1.c3 + x.z * t.k2.c3 + x.w * t.k3.c3,
  );
}

// C[row][col .. col + 3], clamped.
fn load_c4(row: u32, col: u32) -> vec4<f32> {
  let at = p.c_base + min(row, p.m - 1u) * p.ldc;
  let last = p.n - 1u;
  return vec4<f32>(f32(c[at + min(col, last)]), f32(c[at + min(col + 1u, last)]), f32(c[at + min(col + 2u, last)]), f32(c[at + min(col + 3u, last)]));
}

fn bias4(col: u32) -> vec4<f32> {
  let last = p.n - 1u;
  let at = p.bias_base;
  return vec4<f32>(bias[at + min(col, last)], bias[at + min(col + 1u, last)], bias[at + min(col + 2u, last)], bias[at + min(col + 3u, last)]);
}

// The starting value of row `row`: bias, plus C when accumulating.
fn init_row(row: u32, col: u32, cols_bias: Cols) -> Cols {
  var v = cols_bias;
  if (p.bias_mode == 2u) {
    let b = bias[p.bias_base + min(row, p.m - 1u)];
    v = Cols(v.c0 + b, v.c1 + b, v.c2 + b, v.c3 + b);
  }
  if (ACCUMULATE) {
    v = Cols(v.c0 + load_c4(row, col), v.c1 + load_c4(row, col + 4u), v.c2 + load_c4(row, col + 8u), v.c3 + load_c4(row, col + 12u));
  }
  return v;
}

// Stores are clamped, not guarded: rows past M and columns past N hold
// exactly the values of the last row and column (their loads were clamped
// too, and so was their starting value), so duplicate writes agree. Guards
// (per-element branches) made LLVM take 10 s to compile this kernel.
fn store4(row: u32, col: u32, v: vec4<f32>) {
  let at = p.c_base + min(row, p.m - 1u) * p.ldc;
  let last = p.n - 1u;
  c[at + min(col, last)] = T(v.x);
  c[at + min(col + 1u, last)] = T(v.y);
  c[at + min(col + 2u, last)] = T(v.z);
  c[at + min(col + 3u, last)] = T(v.w);
}

fn store_row(row: u32, col: u32, acc: Cols) {
  store4(row, col, acc.c0);
  store4(row, col + 4u, acc.c1);
  store4(row, col + 8u, acc.c2);
  store4(row, col + 12u, acc.c3);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let col_blocks = (p.n + 15u) / 16u;
  let r = (i / col_blocks) * ROWS;
  let col = (i % col_blocks) * 16u;
  if (r >= p.m) {
    return;
  }
  let z = vec4<f32>(0.0);
  var cols_bias = Cols(z, z, z, z);
  if (p.bias_mode == 1u) {
    cols_bias = Cols(bias4(col), bias4(col + 4u), bias4(col + 8u), bias4(col + 12u));
  }
  var acc0 = init_row(r, col, cols_bias);
  var acc1 = init_row(r + 1u, col, cols_bias);
  var acc2 = init_row(r + 2u, col, cols_bias);
  var acc3 = init_row(r + 3u, col, cols_bias);
  var acc4 = cols_bias;
  var acc5 = cols_bias;
  var acc6 = cols_bias;
  var acc7 = cols_bias;
  var acc8 = cols_bias;
  var acc9 = cols_bias;
  var acc10 = cols_bias;
  var acc11 = cols_bias;
  var acc12 = cols_bias;
  var acc13 = cols_bias;
  var acc14 = cols_bias;
  var acc15 = cols_bias;
  if (ROWS > 4u) {
    acc4 = init_row(r + 4u, col, cols_bias);
    acc5 = init_row(r + 5u, col, cols_bias);
    acc6 = init_row(r + 6u, col, cols_bias);
    acc7 = init_row(r + 7u, col, cols_bias);
  }
  if (ROWS > 8u) {
    acc8 = init_row(r + 8u, col, cols_bias);
    acc9 = init_row(r + 9u, col, cols_bias);
    acc10 = init_row(r + 10u, col, cols_bias);
    acc11 = init_row(r + 11u, col, cols_bias);
    acc12 = init_row(r + 12u, col, cols_bias);
    acc13 = init_row(r + 13u, col, cols_bias);
    acc14 = init_row(r + 14u, col, cols_bias);
    acc15 = init_row(r + 15u, col, cols_bias);
  }
  for (var k = 0u; k < p.k; k += 4u) {
    let t = load_tile(k, col);
    acc0 = fma_row(acc0, load_a(r, k), t);
    acc1 = fma_row(acc1, load_a(r + 1u, k), t);
    acc2 = fma_row(acc2, load_a(r + 2u, k), t);
    acc3 = fma_row(acc3, load_a(r + 3u, k), t);
    if (ROWS > 4u) {
      acc4 = fma_row(acc4, load_a(r + 4u, k), t);
      acc5 = fma_row(acc5, load_a(r + 5u, k), t);
      acc6 = fma_row(acc6, load_a(r + 6u, k), t);
      acc7 = fma_row(acc7, load_a(r + 7u, k), t);
    }
    if (ROWS > 8u) {
      acc8 = fma_row(acc8, load_a(r + 8u, k), t);
      acc9 = fma_row(acc9, load_a(r + 9u, k), t);
      acc10 = fma_row(acc10, load_a(r + 10u, k), t);
      acc11 = fma_row(acc11, load_a(r + 11u, k), t);
      acc12 = fma_row(acc12, load_a(r + 12u, k), t);
      acc13 = fma_row(acc13, load_a(r + 13u, k), t);
      acc14 = fma_row(acc14, load_a(r + 14u, k), t);
      acc15 = fma_row(acc15, load_a(r + 15u, k), t);
    }
  }
  store_row(r, col, acc0);
  store_row(r + 1u, col, acc1);
  store_row(r + 2u, col, acc2);
  store_row(r + 3u, col, acc3);
  if (ROWS > 4u) {
    store_row(r + 4u, col, acc4);
    store_row(r + 5u, col, acc5);
    store_row(r + 6u, col, acc6);
    store_row(r + 7u, col, acc7);
  }
  if (ROWS > 8u) {
    store_row(r + 8u, col, acc8);
    store_row(r + 9u, col, acc9);
    store_row(r + 10u, col, acc10);
    store_row(r + 11u, col, acc11);
    store_row(r + 12u, col, acc12);
    store_row(r + 13u, col, acc13);
    store_row(r + 14u, col, acc14);
    store_row(r + 15u, col, acc15);
  }
}
