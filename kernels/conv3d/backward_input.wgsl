// conv_gather: the gather convolutions of the backward passes, 3D (2D is
// D = 1), channels-first, with groups. Each output element is a sum over
// the input channels of its group and the kernel taps that reach it:
//
// - MODE tr (the input gradient of a convolution, a transposed
//   convolution): out[n, o, x] = sum over i, k with (x + p - k) % s = 0 of
//   src[n, i, (x + p - k) / s] * w[...], where src is dy (N, Co, Do, Ho, Wo),
//   out is dx (N, Ci, D, H, W) and w is the forward weight (Co, Ci/g, k...).
// - MODE fwd (a plain correlation, the input gradient of a transposed
//   convolution): out[n, o, x] = sum over i, k of src[n, i, x * s - p + k] * w[...].
//
// The weight of (group-local output channel ol, absolute input channel i,
// tap t) is wt[ol * w_so + i * w_si + t], so one kernel reads both the
// (Co, Ci, k) and the (Ci, Co, k) layouts.
//
// Each invocation computes 8 output pixels of one row that share their
// tap set (in MODE tr: x, x + s, ..., x + 7s; in MODE fwd: 8 consecutive
// columns) for COB output channels (4 when groups = 1, else 1): per tap and
// input channel it loads 8 inputs and COB weights for 8·COB FMAs.

struct Params {
  n: u32,
  oc: u32,        // output channels and spatial size
  od: u32,
  oh: u32,
  ow: u32,
  ic: u32,        // source channels and spatial size
  id: u32,
  ih: u32,
  iw: u32,
  kd: u32,
  kh: u32,
  kw: u32,
  sd: u32,
  sh: u32,
  sw: u32,
  pd: i32,
  ph: i32,
  pw: i32,
  og: u32,        // output channels per group
  ig: u32,        // source channels per group
  w_so: u32,      // weight strides of the group-local output channel
  w_si: u32,      // and of the absolute source channel
  oblocks: u32,   // ceil(oc / COB)
  xblocks: u32,   // blocks of 8 pixels per row (per phase)
  phases: u32,    // MODE tr: sw (x mod s classes); MODE fwd: 1
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const mode_tr: u32 = 0u;
const mode_fwd: u32 = 1u;
const MODE: u32 = mode_{{MODE}};
const COB: u32 = {{COB}}u;

// First tap and tap step along one axis for output coordinate c.
fn first_tap(c: u32, pad: i32, s: u32) -> u32 {
  if (MODE == mode_tr) {
    return u32(i32(c) + pad) % s;
  }
  return 0u;
}

fn tap_step(s: u32) -> u32 {
  if (MODE == mode_tr) {
    return s;
  }
  return 1u;
}

// Source coordinate of output coordinate c through tap k (may be out of range).
fn source(c: u32, k: u32, pad: i32, s: u32) -> i32 {
  if (MODE == mode_tr) {
    let t = i32(c) + pad - i32(k);
    // t is a multiple of s; a negative t gives a negative quotient (rejected).
    return select(-1, t / i32(s), t >= 0);
  }
  return i32(c * s) - pad + i32(k);
}

fn load(at: i32, valid: bool) -> f32 {
  return select(0.0, src[u32(select(0, at, valid))], valid);
}

fn store(n: u32, o: u32, z: u32, y: u32, x: u32, v: f32) {
  if (o < p.oc && x < p.ow) {
    out[(((n * p.oc + o) * p.od + z) * p.oh + y) * p.ow + x] = v;
  }
}

fn store4(n: u32, o: u32, z: u32, y: u32, x0: u32, v: vec4<f32>) {
  store(n, o, z, y, x0, v.x);
  store(n, o, z, y, x0 + p.phases, v.y);
  store(n, o, z, y, x0 + 2u * p.phases, v.z);
  store(n, o, z, y, x0 + 3u * p.phases, v.w);
}

fn store8(n: u32, o: u32, z: u32, y: u32, x0: u32, v: Acc) {
  store4(n, o, z, y, x0, v.lo);
  store4(n, o, z, y, x0 + 4u * p.phases, v.hi);
}

// 8 pixels of one output channel.
struct Acc {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

fn fma8(acc: Acc, w: f32, lo: vec4<f32>, hi: vec4<f32>) -> Acc {
  return Acc(acc.lo + w * lo, acc.hi + w * hi);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let xb = i % p.xblocks;
  var r = i / p.xblocks;
  let ph = r % p.phases;
  r = r / p.phases;
  let y = r % p.oh;
  r = r / p.oh;
  let z = r % p.od;
  r = r / p.od;
  let cb = r % p.oblocks;
  let n = r / p.oblocks;
  let x0 = ph + 8u * xb * p.phases;
  if (n >= p.n || x0 >= p.ow) {
    return;
  }
  let o0 = cb * COB;
  let g = o0 / p.og;
  let ol0 = o0 - g * p.og;
  // Group-local output channels of the block, clamped (groups = 1 when COB = 4).
  let ol1 = min(ol0 + 1u, p.og - 1u);
  let ol2 = min(ol0 + 2u, p.og - 1u);
  let ol3 = min(ol0 + 3u, p.og - 1u);
  let iplane = p.id * p.ih * p.iw;
  let c_first = g * p.ig;
  let src_n = i32((n * p.ic + c_first) * iplane);
  let zero = Acc(vec4<f32>(0.0), vec4<f32>(0.0));
  var acc0 = zero;
  var acc1 = zero;
  var acc2 = zero;
  var acc3 = zero;
  // Source column of pixel 0 for tap 0 in MODE fwd, and the column step between pixels.
  var xstep = 1;
  if (MODE == mode_fwd) {
    xstep = i32(p.sw);
  }
  for (var kz = first_tap(z, p.pd, p.sd); kz < p.kd; kz += tap_step(p.sd)) {
    let sz = source(z, kz, p.pd, p.sd);
    if (sz < 0 || sz >= i32(p.id)) {
      continue;
    }
    for (var ky = first_tap(y, p.ph, p.sh); ky < p.kh; ky += tap_step(p.sh)) {
      let sy = source(y, ky, p.ph, p.sh);
      if (sy < 0 || sy >= i32(p.ih)) {
        continue;
      }
      let row = src_n + (sz * i32(p.ih) + sy) * i32(p.iw);
      for (var kx = first_tap(ph, p.pw, p.sw); kx < p.kw; kx += tap_step(p.sw)) {
        var a: i32;
        if (MODE == mode_tr) {
          // (ph + pw - kx) is a multiple of sw (exact division, also when negative).
          a = (i32(ph) + p.pw - i32(kx)) / i32(p.sw) + i32(8u * xb);
        } else {
          a = i32(x0 * p.sw) - p.pw + i32(kx);
        }
        let s0 = a;
        let s1 = a + xstep;
        let s2 = a + 2 * xstep;
        let s3 = a + 3 * xstep;
        let s4 = a + 4 * xstep;
        let s5 = a + 5 * xstep;
        let s6 = a + 6 * xstep;
        let s7 = a + 7 * xstep;
        let v0 = u32(s0) < p.iw;
        let v1 = u32(s1) < p.iw;
        let v2 = u32(s2) < p.iw;
        let v3 = u32(s3) < p.iw;
        let v4 = u32(s4) < p.iw;
        let v5 = u32(s5) < p.iw;
        let v6 = u32(s6) < p.iw;
        let v7 = u32(s7) < p.iw;
        let tap = (kz * p.kh + ky) * p.kw + kx;
        var at = row;
        var wa = c_first * p.w_si + tap;
        for (var c = 0u; c < p.ig; c++) {
          let lo = vec4<f32>(load(at + s0, v0), load(at + s1, v1), load(at + s2, v2), load(at + s3, v3));
          let hi = vec4<f32>(load(at + s4, v4), load(at + s5, v5), load(at + s6, v6), load(at + s7, v7));
          acc0 = fma8(acc0, wt[wa + ol0 * p.w_so], lo, hi);
          if (COB == 4u) {
            acc1 = fma8(acc1, wt[wa + ol1 * p.w_so], lo, hi);
            acc2 = fma8(acc2, wt[wa + ol2 * p.w_so], lo, hi);
            acc3 = fma8(acc3, wt[wa + ol3 * p.w_so], lo, hi);
          }
          at += i32(iplane);
          wa += p.w_si;
        }
      }
    }
  }
  store8(n, o0, z, y, x0, acc0);
  if (COB == 4u) {
    store8(n, o0 + 1u, z, y, x0, acc1);
    store8(n, o0 + 2u, z, y, x0, acc2);
    store8(n, o0 + 3u, z, y, x0, acc3);
  }
}
