// conv2d: dense 2D convolution (groups = 1) as an implicit GEMM:
// C (pixels, Co) = A (pixels, Ci·kh·kw) · Wᵀ, where A is gathered from the
// input on the fly (zero padding) and W (Co, Ci, kh, kw) is already the
// (Co, K) matrix. Input and output are addressed through strides, so either
// may be channels-first (N, C, H, W) or tokens (N, H, W, C).
//
// Storage loads dominate on llvmpipe, so each invocation computes a block of
// 16 output pixels (consecutive in raster order) x 16 output channels: per
// step of 4 taps it loads 64 input and 64 weight values for 1024 FMAs, like
// the matmul kernel. Per-pixel base addresses are computed once; taps
// advance (ci, ky, kx) counters without divisions.
//
// A dispatch covers one chunk: `nb` batch items, output rows oy0 .. oy0 +
// rows - 1, input channels ci0 .. ci0 + cis - 1 (later chunks accumulate)
// and output channels co0 .. co0 + cos - 1. All window offsets are relative
// to the chunk's first element, which the launcher binds.

struct Params {
  nb: u32,        // batch items in this chunk
  rows: u32,      // output rows in this chunk
  wo: u32,        // output width
  cis: u32,       // input channels in this chunk
  cos: u32,       // output channels in this chunk
  kh: u32,
  kw: u32,
  sy: u32,        // stride
  sx: u32,
  h: u32,         // input height and width (for padding)
  w: u32,
  oy0: i32,       // first output row of the chunk
  pad_y: i32,
  pad_x: i32,
  iy_lo: i32,     // input row at the start of the input window
  in_n: u32,      // input strides (elements)
  in_c: u32,
  in_y: u32,
  in_x: u32,
  out_n: u32,     // output strides
  out_c: u32,
  out_y: u32,
  out_x: u32,
  w_ld: u32,      // weight row stride: Ci·kh·kw of the whole weight
  in_base: u32,   // element offsets inside the bound windows
  out_base: u32,
  w_base: u32,
  bias_base: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Variant "acc" adds to the output's contents (later input-channel chunks);
// compiled only when used.
const ACCUMULATE: bool = {{ACCUMULATE}};

struct Cols {
  c0: vec4<f32>,
  c1: vec4<f32>,
  c2: vec4<f32>,
  c3: vec4<f32>,
}

struct Tile {
  k0: Cols,
  k1: Cols,
  k2: Cols,
  k3: Cols,
}

// Where one output pixel reads: the window offset of tap (0, 0) of channel
// 0 (may be negative in padding) and its input row and column.
struct Pixel {
  base: i32,
  iy: i32,
  ix: i32,
}

// One tap: channel, row and column offsets, and whether it is past K.
struct Tap {
  off: i32,
  ky: i32,
  kx: i32,
  live: bool,
}

fn pixel(q: u32) -> Pixel {
  let plane = p.rows * p.wo;
  let qq = min(q, p.nb * plane - 1u);
  let n = qq / plane;
  let r = qq % plane;
  let oy = i32(r / p.wo) + p.oy0;
  let ox = i32(r % p.wo);
  let iy = oy * i32(p.sy) - p.pad_y;
  let ix = ox * i32(p.sx) - p.pad_x;
  return Pixel(i32(n * p.in_n) + (iy - p.iy_lo) * i32(p.in_y) + ix * i32(p.in_x), iy, ix);
}

fn tap(k: u32) -> Tap {
  let khw = p.kh * p.kw;
  let kk = min(k, p.cis * khw - 1u);
  let ci = kk / khw;
  let r = kk % khw;
  let ky = r / p.kw;
  let kx = r % p.kw;
  return Tap(i32(ci * p.in_c + ky * p.in_y + kx * p.in_x), i32(ky), i32(kx), k < p.cis * khw);
}

fn load_x(px: Pixel, t: Tap) -> f32 {
  let iy = px.iy + t.ky;
  let ix = px.ix + t.kx;
  let inside = t.live && u32(iy) < p.h && u32(ix) < p.w;
  let at = select(0, px.base + t.off, inside);
  return select(0.0, x[p.in_base + u32(at)], inside);
}

fn load_a(px: Pixel, t0: Tap, t1: Tap, t2: Tap, t3: Tap) -> vec4<f32> {
  return vec4<f32>(load_x(px, t0), load_x(px, t1), load_x(px, t2), load_x(px, t3));
}

// Weight of output channel co (chunk-local, clamped) at chunk-local tap k.
fn load_w(k: u32, co: u32, live: bool) -> f32 {
  let khw = p.kh * p.kw;
  let kk = min(k, p.cis * khw - 1u);
  let at = p.w_base + min(co, p.cos - 1u) * p.w_ld + kk;
  return select(0.0, wt[at], live);
}

fn load_w4(k: u32, co: u32, live: bool) -> vec4<f32> {
  return vec4<f32>(load_w(k, co, live), load_w(k, co + 1u, live), load_w(k, co + 2u, live), load_w(k, co + 3u, live));
}

fn load_cols(k: u32, co: u32, live: bool) -> Cols {
  return Cols(load_w4(k, co, live), load_w4(k, co + 4u, live), load_w4(k, co + 8u, live), load_w4(k, co + 12u, live));
}

fn fma_row(acc: Cols, a: vec4<f32>, t: Tile) -> Cols {
  return Cols(
    acc.c0 + a.x * t.k0.c0 + a.y * t.k1.c0 + a.z * t.k2.c0 + a.w * t.k3.c0,
    acc.c1 + a.x * t.k0.c1 + a.y * t.k1.c1 + a.z * t.k2.c1 + a.w * t.k3.c1,
    acc.c2 + a.x * t.k0.c2 + a.y * t.k1.c2 + a.z * t.k2.c2 + a.w * t.k3.c2,
    acc.c3 + a.x * t.k0.c3 + a.y * t.k1.c3 + a.z * t.k2.c3 + a.w * t.k3.c3,
  );
}

// Output address of chunk-local pixel `pix` (clamped) and output channel 0.
fn out_at(pix: u32) -> u32 {
  let plane = p.rows * p.wo;
  let q = min(pix, p.nb * plane - 1u);
  let n = q / plane;
  let r = q % plane;
  return p.out_base + n * p.out_n + (r / p.wo) * p.out_y + (r % p.wo) * p.out_x;
}

fn load_y4(at: u32, co: u32) -> vec4<f32> {
  let last = p.cos - 1u;
  return vec4<f32>(y[at + min(co, last) * p.out_c], y[at + min(co + 1u, last) * p.out_c], y[at + min(co + 2u, last) * p.out_c], y[at + min(co + 3u, last) * p.out_c]);
}

fn bias4(co: u32) -> vec4<f32> {
  let last = p.cos - 1u;
  let at = p.bias_base;
  return vec4<f32>(bias[at + min(co, last)], bias[at + min(co + 1u, last)], bias[at + min(co + 2u, last)], bias[at + min(co + 3u, last)]);
}

// Starting value of one pixel's 16 channels: the bias, plus the output's
// old contents in the "acc" variant (later input-channel chunks).
fn init_row(pix: u32, co: u32, b: Cols) -> Cols {
  if (ACCUMULATE) {
    let at = out_at(pix);
    return Cols(b.c0 + load_y4(at, co), b.c1 + load_y4(at, co + 4u), b.c2 + load_y4(at, co + 8u), b.c3 + load_y4(at, co + 12u));
  }
  return b;
}

// Stores are clamped, not guarded: pixels past the chunk and channels past
// cos hold exactly the values of the last pixel and channel (their loads and
// starting values were clamped too), so duplicate writes agree. Guards made
// LLVM take many seconds to compile this kernel.
fn store4(at: u32, co: u32, v: vec4<f32>) {
  let last = p.cos - 1u;
  y[at + min(co, last) * p.out_c] = v.x;
  y[at + min(co + 1u, last) * p.out_c] = v.y;
  y[at + min(co + 2u, last) * p.out_c] = v.z;
  y[at + min(co + 3u, last) * p.out_c] = v.w;
}

fn store_row(pix: u32, co: u32, acc: Cols) {
  let at = out_at(pix);
  store4(at, co, acc.c0);
  store4(at, co + 4u, acc.c1);
  store4(at, co + 8u, acc.c2);
  store4(at, co + 12u, acc.c3);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let col_blocks = (p.cos + 15u) / 16u;
  let q = (i / col_blocks) * 16u;
  let co = (i % col_blocks) * 16u;
  if (q >= p.nb * p.rows * p.wo) {
    return;
  }
  let px0 = pixel(q);
  let px1 = pixel(q + 1u);
  let px2 = pixel(q + 2u);
  let px3 = pixel(q + 3u);
  let px4 = pixel(q + 4u);
  let px5 = pixel(q + 5u);
  let px6 = pixel(q + 6u);
  let px7 = pixel(q + 7u);
  let px8 = pixel(q + 8u);
  let px9 = pixel(q + 9u);
  let px10 = pixel(q + 10u);
  let px11 = pixel(q + 11u);
  let px12 = pixel(q + 12u);
  let px13 = pixel(q + 13u);
  let px14 = pixel(q + 14u);
  let px15 = pixel(q + 15u);
  let z = vec4<f32>(0.0);
  var b = Cols(z, z, z, z);
  if (p.has_bias == 1u) {
    b = Cols(bias4(co), bias4(co + 4u), bias4(co + 8u), bias4(co + 12u));
  }
  var acc0 = init_row(q, co, b);
  var acc1 = init_row(q + 1u, co, b);
  var acc2 = init_row(q + 2u, co, b);
  var acc3 = init_row(q + 3u, co, b);
  var acc4 = init_row(q + 4u, co, b);
  var acc5 = init_row(q + 5u, co, b);
  var acc6 = init_row(q + 6u, co, b);
  var acc7 = init_row(q + 7u, co, b);
  var acc8 = init_row(q + 8u, co, b);
  var acc9 = init_row(q + 9u, co, b);
  var acc10 = init_row(q + 10u, co, b);
  var acc11 = init_row(q + 11u, co, b);
  var acc12 = init_row(q + 12u, co, b);
  var acc13 = init_row(q + 13u, co, b);
  var acc14 = init_row(q + 14u, co, b);
  var acc15 = init_row(q + 15u, co, b);
  let k_total = p.cis * p.kh * p.kw;
  for (var k = 0u; k < k_total; k += 4u) {
    let t0 = tap(k);
    let t1 = tap(k + 1u);
    let t2 = tap(k + 2u);
    let t3 = tap(k + 3u);
    let t = Tile(
      load_cols(k, co, t0.live),
      load_cols(k + 1u, co, t1.live),
      load_cols(k + 2u, co, t2.live),
      load_cols(k + 3u, co, t3.live),
    );
    acc0 = fma_row(acc0, load_a(px0, t0, t1, t2, t3), t);
    acc1 = fma_row(acc1, load_a(px1, t0, t1, t2, t3), t);
    acc2 = fma_row(acc2, load_a(px2, t0, t1, t2, t3), t);
    acc3 = fma_row(acc3, load_a(px3, t0, t1, t2, t3), t);
    acc4 = fma_row(acc4, load_a(px4, t0, t1, t2, t3), t);
    acc5 = fma_row(acc5, load_a(px5, t0, t1, t2, t3), t);
    acc6 = fma_row(acc6, load_a(px6, t0, t1, t2, t3), t);
    acc7 = fma_row(acc7, load_a(px7, t0, t1, t2, t3), t);
    acc8 = fma_row(acc8, load_a(px8, t0, t1, t2, t3), t);
    acc9 = fma_row(acc9, load_a(px9, t0, t1, t2, t3), t);
    acc10 = fma_row(acc10, load_a(px10, t0, t1, t2, t3), t);
    acc11 = fma_row(acc11, load_a(px11, t0, t1, t2, t3), t);
    acc12 = fma_row(acc12, load_a(px12, t0, t1, t2, t3), t);
    acc13 = fma_row(acc13, load_a(px13, t0, t1, t2, t3), t);
    acc14 = fma_row(acc14, load_a(px14, t0, t1, t2, t3), t);
    acc15 = fma_row(acc15, load_a(px15, t0, t1, t2, t3), t);
  }
  store_row(q, co, acc0);
  store_row(q + 1u, co, acc1);
  store_row(q + 2u, co, acc2);
  store_row(q + 3u, co, acc3);
  store_row(q + 4u, co, acc4);
  store_row(q + 5u, co, acc5);
  store_row(q + 6u, co, acc6);
  store_row(q + 7u, co, acc7);
  store_row(q + 8u, co, acc8);
  store_row(q + 9u, co, acc9);
  store_row(q + 10u, co, acc10);
  store_row(q + 11u, co, acc11);
  store_row(q + 12u, co, acc12);
  store_row(q + 13u, co, acc13);
  store_row(q + 14u, co, acc14);
  store_row(q + 15u, co, acc15);
}
