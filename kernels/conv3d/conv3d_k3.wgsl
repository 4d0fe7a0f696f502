// conv3d_k3: 3x3x3 convolution with stride 1 and zero padding (pd, ph, pw).
//
// Each invocation computes a register block of {{COB}} output channels x 4
// output rows x 4 consecutive output columns (one vec4 per channel and row)
// at one output depth. Per input channel and kernel depth it loads the 6 x 6
// input values it needs once (storage loads are the expensive part on
// llvmpipe: one scalar load per lane) and reuses them for 27 x {{COB}} x 16
// FMAs.
//
// Weights live in a uniform buffer (`prepareConv3dWeight`): uniform loads are
// vector gathers on llvmpipe, several times cheaper than storage loads. Layout
// per block of {{COB}} output channels: {{COB}}/4 vec4 of bias, then for each
// input channel the 27 taps (kz, ky, kx) of {{COB}}/4 vec4 each.
//
// Large tensors: the chunk's input channels come from up to 4 windows of
// `cpx` channel planes each, and the dispatch's output channels go to up to 4
// windows of `cpy` planes. A dispatch reduces over a range of input channels;
// the first range writes acc + bias, later ranges add to the output, and the
// last one applies the activation.
//
// Private arrays are indexed only by loops of at most 8 iterations: larger or
// dynamically indexed ones are moved to scratch memory by the driver and run
// ten times slower.

struct Params {
  in_base: vec4<u32>,  // element offset of the chunk's first channel in each input window
  out_base: vec4<u32>, // element offset of the dispatch's first channel in each output window
  in_d: u32,
  in_h: u32,
  in_w: u32,
  in_n: u32,           // elements between batch items in input window 0
  out_d: u32,
  out_h: u32,
  out_w: u32,
  out_n: u32,          // elements between batch items in output window 0
  pd: u32,
  ph: u32,
  pw: u32,
  ci: u32,             // input channels reduced by this dispatch
  cpx: u32,            // channel planes per input window
  cpy: u32,            // channel planes per output window
  c_lo: u32,           // first block channel this dispatch writes (0 unless a block is split)
  c_n: u32,            // output channels this dispatch writes
  items: u32,          // batch items in this dispatch
  cblocks: u32,        // channel blocks per batch item in this dispatch
  gpb: u32,            // workgroups per (batch item, block)
  xblocks: u32,        // ceil(out_w / 4)
  yblocks: u32,        // ceil(out_h / 4)
  w_base: u32,         // vec4 index of block 0's first reduced channel in the weight window
  w_block: u32,        // vec4 stride between blocks
  first: u32,          // 1: write acc + bias; 0: add acc to the output
  last: u32,           // 1: apply the activation
  slope: f32,          // leaky_relu negative slope
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> x1: array<f32>;
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read> x3: array<f32>;
@group(0) @binding(6) var<storage, read_write> y0: array<f32>;
@group(0) @binding(7) var<storage, read_write> y1: array<f32>;
@group(0) @binding(8) var<storage, read_write> y2: array<f32>;
@group(0) @binding(9) var<storage, read_write> y3: array<f32>;

const COB: u32 = {{COB}}u;
const C4: u32 = COB / 4u;
// Input and output windows actually used (1 or 4); with 1 the others are bound but never read.
const XW: u32 = {{XW}}u;
const YW: u32 = {{YW}}u;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};

// Three overlapping vec4 of one input row: columns x0-pw+{0..3}, +{1..4}, +{2..5}.
struct Row {
  a: vec4<f32>,
  b: vec4<f32>,
  c: vec4<f32>,
}

var<private> col: array<u32, 6>;  // clamped input columns of this invocation
var<private> cok: array<bool, 6>; // column inside the input

fn ld(k: u32, i: u32) -> f32 {
  if (XW == 1u) {
    return x0[i];
  }
  switch k {
    case 0u: { return x0[i]; }
    case 1u: { return x1[i]; }
    case 2u: { return x2[i]; }
    default: { return x3[i]; }
  }
}

fn load_row(k: u32, base: u32, ok: bool) -> Row {
  let e0 = select(0.0, ld(k, base + col[0]), ok && cok[0]);
  let e1 = select(0.0, ld(k, base + col[1]), ok && cok[1]);
  let e2 = select(0.0, ld(k, base + col[2]), ok && cok[2]);
  let e3 = select(0.0, ld(k, base + col[3]), ok && cok[3]);
  let e4 = select(0.0, ld(k, base + col[4]), ok && cok[4]);
  let e5 = select(0.0, ld(k, base + col[5]), ok && cok[5]);
  return Row(
    vec4<f32>(e0, e1, e2, e3),
    vec4<f32>(e1, e2, e3, e4),
    vec4<f32>(e2, e3, e4, e5),
  );
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == act_relu) {
    return max(v, vec4<f32>(0.0));
  }
  if (ACT == act_leaky_relu) {
    return select(v * p.slope, v, v >= vec4<f32>(0.0));
  }
  return v;
}

fn store(k: u32, i: u32, v: f32) {
  if (YW == 1u) {
    y0[i] = v;
    return;
  }
  switch k {
    case 0u: { y0[i] = v; }
    case 1u: { y1[i] = v; }
    case 2u: { y2[i] = v; }
    default: { y3[i] = v; }
  }
}

fn load_out(k: u32, i: u32) -> f32 {
  if (YW == 1u) {
    return y0[i];
  }
  switch k {
    case 0u: { return y0[i]; }
    case 1u: { return y1[i]; }
    case 2u: { return y2[i]; }
    default: { return y3[i]; }
  }
}

// Writes (or adds) one output row of 4 columns of block channel c.
fn emit(c: u32, n: u32, b: u32, oz: u32, oy: u32, ox: u32, acc: vec4<f32>, bias: f32) {
  let q = b * COB + c; // channel index within the dispatch, before c_lo
  if (q < p.c_lo || q - p.c_lo >= p.c_n || oy >= p.out_h) {
    return;
  }
  let r = q - p.c_lo;
  let k = r / p.cpy;
  let oplane = p.out_d * p.out_h * p.out_w;
  let at = p.out_base[k] + n * p.out_n + (r % p.cpy) * oplane + (oz * p.out_h + oy) * p.out_w + ox;
  var v = acc;
  if (p.first == 1u) {
    v += vec4<f32>(bias);
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (ox + j < p.out_w) {
        v[j] += load_out(k, at + j);
      }
    }
  }
  if (p.last == 1u) {
    v = activate(v);
  }
  for (var j = 0u; j < 4u; j++) {
    if (ox + j < p.out_w) {
      store(k, at + j, v[j]);
    }
  }
}

// Writes one output row of the block: the array is passed by value so that
// this loop, which the compiler may keep rolled, never indexes the
// accumulators of the main loop.
fn emit_row(
  acc: array<vec4<f32>, COB>,
  bias: array<vec4<f32>, C4>,
  n: u32,
  b: u32,
  oz: u32,
  oy: u32,
  ox: u32,
) {
  for (var c = 0u; c < COB; c++) {
    emit(c, n, b, oz, oy, ox, acc[c], bias[c / 4u][c % 4u]);
  }
}

alias Acc = array<vec4<f32>, COB>;

// One kernel row (ky): the three kx taps of output rows a..d from input rows ra..rd.
// main calls it three times with the rows shifted, rather than looping over ky:
// the driver kept that loop rolled and selected the rows per iteration, and
// the unrolled form runs the whole kernel 1.5x faster.
fn ky_taps(
  acc0: ptr<function, Acc>,
  acc1: ptr<function, Acc>,
  acc2: ptr<function, Acc>,
  acc3: ptr<function, Acc>,
  ra: Row,
  rb: Row,
  rc: Row,
  rd: Row,
  wi: u32,
) {
  // Loops of at most 4 iterations over constant bounds, so that the driver unrolls them and
  // every accumulator index is a constant (a 16-iteration loop would not be).
  for (var q = 0u; q < C4; q++) {
    tap4(acc0, acc1, acc2, acc3, 4u * q, w[wi + q], ra.a, rb.a, rc.a, rd.a);
  }
  for (var q = 0u; q < C4; q++) {
    tap4(acc0, acc1, acc2, acc3, 4u * q, w[wi + C4 + q], ra.b, rb.b, rc.b, rd.b);
  }
  for (var q = 0u; q < C4; q++) {
    tap4(acc0, acc1, acc2, acc3, 4u * q, w[wi + 2u * C4 + q], ra.c, rb.c, rc.c, rd.c);
  }
}

// One tap for output channels c0 .. c0 + 3 (weights wq) and the four output rows a..d.
fn tap4(
  acc0: ptr<function, Acc>,
  acc1: ptr<function, Acc>,
  acc2: ptr<function, Acc>,
  acc3: ptr<function, Acc>,
  c0: u32,
  wq: vec4<f32>,
  a: vec4<f32>,
  b: vec4<f32>,
  c: vec4<f32>,
  d: vec4<f32>,
) {
  for (var j = 0u; j < 4u; j++) {
    let wc = vec4<f32>(wq[j]);
    (*acc0)[c0 + j] = fma(wc, a, (*acc0)[c0 + j]);
    (*acc1)[c0 + j] = fma(wc, b, (*acc1)[c0 + j]);
    (*acc2)[c0 + j] = fma(wc, c, (*acc2)[c0 + j]);
    (*acc3)[c0 + j] = fma(wc, d, (*acc3)[c0 + j]);
  }
}

@compute @workgroup_size({{WG}})
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Linear index gid.x + gid.y * nwg.x * WG, split so that the block (and so
  // every weight address) depends on the workgroup only.
  let g = wid.x + wid.y * nwg.x;
  let blk = g / p.gpb;
  let n = blk / p.cblocks;
  let b = blk % p.cblocks;
  let s = (g % p.gpb) * {{WG}}u + lid;
  let ox = (s % p.xblocks) * 4u;
  let t = s / p.xblocks;
  let oy0 = (t % p.yblocks) * 4u;
  // A 2D grid may round the workgroup count up: those past the last block do nothing.
  let live = t / p.yblocks < p.out_d && blk < p.items * p.cblocks;
  let oz = min(t / p.yblocks, p.out_d - 1u);

  let wl = i32(p.in_w) - 1;
  for (var e = 0; e < 6; e++) {
    let ix = i32(ox) - i32(p.pw) + e;
    cok[e] = ix >= 0 && ix <= wl;
    col[e] = u32(clamp(ix, 0, wl));
  }
  let hl = i32(p.in_h) - 1;
  let iy0 = i32(oy0) - i32(p.ph);
  var rowoff: array<u32, 6>;
  var rowok: array<bool, 6>;
  for (var r = 0; r < 6; r++) {
    rowok[r] = iy0 + r >= 0 && iy0 + r <= hl;
    rowoff[r] = u32(clamp(iy0 + r, 0, hl)) * p.in_w;
  }

  var acc0: Acc;
  var acc1: Acc;
  var acc2: Acc;
  var acc3: Acc; // function variables start at zero

  let plane = p.in_d * p.in_h * p.in_w;
  let hw = p.in_h * p.in_w;
  var wi = p.w_base + b * p.w_block;
  for (var ci = 0u; ci < p.ci; ci++) {
    let k = ci / p.cpx;
    let cbase = p.in_base[k] + n * p.in_n + (ci % p.cpx) * plane;
    for (var kz = 0u; kz < 3u; kz++) {
      let iz = i32(oz + kz) - i32(p.pd);
      let zok = iz >= 0 && iz < i32(p.in_d);
      let pb = cbase + u32(clamp(iz, 0, i32(p.in_d) - 1)) * hw;
      let r0 = load_row(k, pb + rowoff[0], zok && rowok[0]);
      let r1 = load_row(k, pb + rowoff[1], zok && rowok[1]);
      let r2 = load_row(k, pb + rowoff[2], zok && rowok[2]);
      let r3 = load_row(k, pb + rowoff[3], zok && rowok[3]);
      let r4 = load_row(k, pb + rowoff[4], zok && rowok[4]);
      let r5 = load_row(k, pb + rowoff[5], zok && rowok[5]);
      ky_taps(&acc0, &acc1, &acc2, &acc3, r0, r1, r2, r3, wi);
      ky_taps(&acc0, &acc1, &acc2, &acc3, r1, r2, r3, r4, wi + 3u * C4);
      ky_taps(&acc0, &acc1, &acc2, &acc3, r2, r3, r4, r5, wi + 6u * C4);
      wi += 9u * C4;
    }
  }
  if (!live) {
    return;
  }
  // Bias sits just before block b's first input channel (read only by the first chunk).
  var bias: array<vec4<f32>, C4>;
  if (p.first == 1u) {
    let bb = p.w_base + b * p.w_block - C4;
    for (var q = 0u; q < C4; q++) {
      bias[q] = w[bb + q];
    }
  }
  emit_row(acc0, bias, n, b, oz, oy0, ox);
  emit_row(acc1, bias, n, b, oz, oy0 + 1u, ox);
  emit_row(acc2, bias, n, b, oz, oy0 + 2u, ox);
  emit_row(acc3, bias, n, b, oz, oy0 + 3u, ox);
}
