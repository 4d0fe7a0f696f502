// depthwise: depthwise 2D convolution (groups = C, one filter per channel),
// with an optional fused activation (SegFormer's Mix-FFN is dwconv -> GELU).
// Input and output are addressed through strides, so tokens (N, H, W, C)
// work as well as channels-first (N, C, H, W), without transposes.
//
// Each invocation computes 4 channels. Variant "k3": kernel 3x3, stride 1,
// padding 1, 2 output rows x 8 output columns per invocation, sliding over
// 4 input rows of 10 columns: 160 input loads for 64 outputs instead of 576.
// Variant "any": any kernel, stride and padding, one output pixel per
// invocation.

struct Params {
  n: u32,         // batch items in this dispatch
  c: u32,         // channels in this dispatch
  ho: u32,        // output rows in this dispatch
  wo: u32,
  h: u32,         // input size (padding)
  w: u32,
  kh: u32,
  kw: u32,
  sy: u32,
  sx: u32,
  pad_y: i32,
  pad_x: i32,
  oy0: i32,       // first output row of the dispatch
  iy_lo: i32,     // input row at the start of the input window
  in_n: u32,      // strides
  in_c: u32,
  in_y: u32,
  in_x: u32,
  out_n: u32,
  out_c: u32,
  out_y: u32,
  out_x: u32,
  in_base: u32,
  out_base: u32,
  c0: u32,        // first channel (weights and bias are indexed by absolute channel)
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const variant_k3: u32 = 0u;
const variant_any: u32 = 1u;
const VARIANT: u32 = variant_{{VARIANT}};
const act_none: u32 = 0u;
const act_gelu: u32 = 1u;
const ACT: u32 = act_{{ACT}};

// Input of 4 channels (from c, clamped) at window row iy (input row minus
// iy_lo) and column ix; zero outside the image.
fn load4(nb: u32, c: u32, iy: i32, ix: i32) -> vec4<f32> {
  let inside = iy + p.iy_lo >= 0 && iy + p.iy_lo < i32(p.h) && ix >= 0 && ix < i32(p.w);
  let at = p.in_base + nb + select(0u, u32(iy) * p.in_y + u32(ix) * p.in_x, inside);
  let last = p.c - 1u;
  let v = vec4<f32>(
    x[at + min(c, last) * p.in_c],
    x[at + min(c + 1u, last) * p.in_c],
    x[at + min(c + 2u, last) * p.in_c],
    x[at + min(c + 3u, last) * p.in_c],
  );
  return select(vec4<f32>(0.0), v, inside);
}

// Weight (ky, kx) of 4 channels from chunk-local c (absolute c0 + c), clamped.
fn weight4(c: u32, ky: u32, kx: u32) -> vec4<f32> {
  let khw = p.kh * p.kw;
  let last = p.c - 1u;
  let o = p.c0 * khw + ky * p.kw + kx;
  return vec4<f32>(
    wt[o + min(c, last) * khw],
    wt[o + min(c + 1u, last) * khw],
    wt[o + min(c + 2u, last) * khw],
    wt[o + min(c + 3u, last) * khw],
  );
}

fn bias4(c: u32) -> vec4<f32> {
  if (p.has_bias == 0u) {
    return vec4<f32>(0.0);
  }
  let last = p.c - 1u;
  return vec4<f32>(
    bias[p.c0 + min(c, last)],
    bias[p.c0 + min(c + 1u, last)],
    bias[p.c0 + min(c + 2u, last)],
    bias[p.c0 + min(c + 3u, last)],
  );
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == act_gelu) {
    return vec4<f32>(gelu(v.x), gelu(v.y), gelu(v.z), gelu(v.w));
  }
  return v;
}

// Stores 4 channels of output pixel (oy, ox) (dispatch-local row).
fn store4(nb: u32, c: u32, oy: u32, ox: u32, v: vec4<f32>) {
  if (oy >= p.ho || ox >= p.wo) {
    return;
  }
  let at = p.out_base + nb + oy * p.out_y + ox * p.out_x;
  let a = activate(v);
  for (var j = 0u; j < 4u; j++) {
    if (c + j < p.c) {
      y[at + (c + j) * p.out_c] = a[j];
    }
  }
}

// Output row accumulators of the k3 variant: 8 columns x 4 channels.
struct Row8 {
  v0: vec4<f32>,
  v1: vec4<f32>,
  v2: vec4<f32>,
  v3: vec4<f32>,
  v4: vec4<f32>,
  v5: vec4<f32>,
  v6: vec4<f32>,
  v7: vec4<f32>,
}

// 10 input columns x 4 channels.
struct In10 {
  i0: vec4<f32>,
  i1: vec4<f32>,
  i2: vec4<f32>,
  i3: vec4<f32>,
  i4: vec4<f32>,
  i5: vec4<f32>,
  i6: vec4<f32>,
  i7: vec4<f32>,
  i8: vec4<f32>,
  i9: vec4<f32>,
}

// Adds one kernel row (weights a, b, c for columns -1, 0, +1) of input row r.
fn tap_row(acc: Row8, r: In10, a: vec4<f32>, b: vec4<f32>, c: vec4<f32>) -> Row8 {
  return Row8(
    acc.v0 + a * r.i0 + b * r.i1 + c * r.i2,
    acc.v1 + a * r.i1 + b * r.i2 + c * r.i3,
    acc.v2 + a * r.i2 + b * r.i3 + c * r.i4,
    acc.v3 + a * r.i3 + b * r.i4 + c * r.i5,
    acc.v4 + a * r.i4 + b * r.i5 + c * r.i6,
    acc.v5 + a * r.i5 + b * r.i6 + c * r.i7,
    acc.v6 + a * r.i6 + b * r.i7 + c * r.i8,
    acc.v7 + a * r.i7 + b * r.i8 + c * r.i9,
  );
}

fn store_row8(nb: u32, c: u32, oy: u32, ox: u32, r: Row8) {
  store4(nb, c, oy, ox, r.v0);
  store4(nb, c, oy, ox + 1u, r.v1);
  store4(nb, c, oy, ox + 2u, r.v2);
  store4(nb, c, oy, ox + 3u, r.v3);
  store4(nb, c, oy, ox + 4u, r.v4);
  store4(nb, c, oy, ox + 5u, r.v5);
  store4(nb, c, oy, ox + 6u, r.v6);
  store4(nb, c, oy, ox + 7u, r.v7);
}

fn main_k3(i: u32) {
  let cg = (p.c + 3u) / 4u;
  let xb = (p.wo + 7u) / 8u;
  let yb = (p.ho + 1u) / 2u;
  let n = i / (cg * xb * yb);
  if (n >= p.n) {
    return;
  }
  // Channel groups vary fastest: neighbouring invocations read neighbouring tokens.
  let c = (i % cg) * 4u;
  let ox = ((i / cg) % xb) * 8u;
  let oy = ((i / (cg * xb)) % yb) * 2u;
  let nin = n * p.in_n;
  let b = bias4(c);
  var top = Row8(b, b, b, b, b, b, b, b);
  var bottom = top;
  let w00 = weight4(c, 0u, 0u);
  let w01 = weight4(c, 0u, 1u);
  let w02 = weight4(c, 0u, 2u);
  let w10 = weight4(c, 1u, 0u);
  let w11 = weight4(c, 1u, 1u);
  let w12 = weight4(c, 1u, 2u);
  let w20 = weight4(c, 2u, 0u);
  let w21 = weight4(c, 2u, 1u);
  let w22 = weight4(c, 2u, 2u);
  // Input rows oy - 1 .. oy + 2 (window-relative), columns ox - 1 .. ox + 8.
  let iy0 = i32(oy) + p.oy0 - 1 - p.iy_lo;
  let ix0 = i32(ox) - 1;
  for (var j = 0; j < 4; j++) {
    let iy = iy0 + j;
    let r = In10(
      load4(nin, c, iy, ix0),
      load4(nin, c, iy, ix0 + 1),
      load4(nin, c, iy, ix0 + 2),
      load4(nin, c, iy, ix0 + 3),
      load4(nin, c, iy, ix0 + 4),
      load4(nin, c, iy, ix0 + 5),
      load4(nin, c, iy, ix0 + 6),
      load4(nin, c, iy, ix0 + 7),
      load4(nin, c, iy, ix0 + 8),
      load4(nin, c, iy, ix0 + 9),
    );
    // Input row j is kernel row j of the top output row and row j - 1 of the bottom one.
    if (j == 0) {
      top = tap_row(top, r, w00, w01, w02);
    } else if (j == 1) {
      top = tap_row(top, r, w10, w11, w12);
      bottom = tap_row(bottom, r, w00, w01, w02);
    } else if (j == 2) {
      top = tap_row(top, r, w20, w21, w22);
      bottom = tap_row(bottom, r, w10, w11, w12);
    } else {
      bottom = tap_row(bottom, r, w20, w21, w22);
    }
  }
  store_row8(n * p.out_n, c, oy, ox, top);
  store_row8(n * p.out_n, c, oy + 1u, ox, bottom);
}

fn main_any(i: u32) {
  let cg = (p.c + 3u) / 4u;
  let n = i / (cg * p.wo * p.ho);
  if (n >= p.n) {
    return;
  }
  let c = (i % cg) * 4u;
  let ox = (i / cg) % p.wo;
  let oy = (i / (cg * p.wo)) % p.ho;
  let nin = n * p.in_n;
  var acc = bias4(c);
  let iy0 = (i32(oy) + p.oy0) * i32(p.sy) - p.pad_y - p.iy_lo;
  let ix0 = i32(ox) * i32(p.sx) - p.pad_x;
  for (var ky = 0u; ky < p.kh; ky++) {
    for (var kx = 0u; kx < p.kw; kx++) {
      acc += weight4(c, ky, kx) * load4(nin, c, iy0 + i32(ky), ix0 + i32(kx));
    }
  }
  store4(n * p.out_n, c, oy, ox, acc);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (VARIANT == variant_k3) {
    main_k3(i);
  } else {
    main_any(i);
  }
}
