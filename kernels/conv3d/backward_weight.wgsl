// conv_weight_grad: the weight gradient of a convolution, 3D (2D is D = 1),
// channels-first, with groups:
//
//   out[c, j, t] = sum over n and positions q of a[n, c, q] * b[n, g·bg + j, q·s - p + t]
//
// where for a convolution a = dy (N, Co, Do, Ho, Wo), b = x (N, Ci, D, H, W)
// and out is dw (Co, Ci/g, k...); for a transposed convolution a = x and
// b = dy, and out is its (Ci, Co, k...) weight gradient.
//
// Each invocation computes COB channels (4 when groups = 1, else 1) x 8
// consecutive flat taps (j, kz, ky, kx) over one chunk of the flattened
// (n, q) reduction, walking it row by row: per position it loads COB values
// of a and 8 of b for 8·COB FMAs. With several chunks (`parts` > 1) it
// writes partial sums (parts, Co, taps), which the launcher sums with a
// second pass.

struct Params {
  n: u32,
  ac: u32,        // a: channels and spatial size (the reduction positions)
  ad: u32,
  ah: u32,
  aw: u32,
  bc: u32,        // b: channels and spatial size
  bd: u32,
  bh: u32,
  bw: u32,
  kd: u32,
  kh: u32,
  kw: u32,
  sd: u32,
  sh: u32,
  sw: u32,
  pd: i32,
  ph: i32,
  pw: i32,
  og: u32,        // a channels per group
  bg: u32,        // b channels per group
  taps: u32,      // bg * kd * kh * kw
  tblocks: u32,   // ceil(taps / 8)
  cblocks: u32,   // ceil(ac / COB)
  chunk: u32,     // reduction positions per part
  parts: u32,
  total: u32,     // n * ad * ah * aw
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const COB: u32 = {{COB}}u;

// One flat tap: offset in b relative to the position's corner, and kernel coordinates.
struct Tap {
  off: i32,
  kz: i32,
  ky: i32,
  kx: i32,
}

fn tap(t: u32) -> Tap {
  let tt = min(t, p.taps - 1u);
  let k = p.kd * p.kh * p.kw;
  let j = tt / k;
  let r = tt % k;
  let kx = r % p.kw;
  let ky = (r / p.kw) % p.kh;
  let kz = r / (p.kw * p.kh);
  let off = j * p.bd * p.bh * p.bw + (kz * p.bh + ky) * p.bw + kx;
  return Tap(i32(off), i32(kz), i32(ky), i32(kx));
}

fn inside_zy(t: Tap, bz: i32, by: i32) -> bool {
  return u32(bz + t.kz) < p.bd && u32(by + t.ky) < p.bh;
}

fn load_b(row: i32, bx: i32, t: Tap, zy: bool) -> f32 {
  let valid = zy && u32(bx + t.kx) < p.bw;
  return select(0.0, b[u32(select(0, row + bx + t.off, valid))], valid);
}

// 8 taps of one channel.
struct Acc {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

fn store8(part: u32, c: u32, t0: u32, v: Acc) {
  if (c >= p.ac) {
    return;
  }
  let at = (part * p.ac + c) * p.taps + t0;
  for (var j = 0u; j < 4u; j++) {
    if (t0 + j < p.taps) {
      out[at + j] = v.lo[j];
    }
    if (t0 + 4u + j < p.taps) {
      out[at + 4u + j] = v.hi[j];
    }
  }
}

fn fma8(acc: Acc, a: f32, lo: vec4<f32>, hi: vec4<f32>) -> Acc {
  return Acc(acc.lo + a * lo, acc.hi + a * hi);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let tb = i % p.tblocks;
  let cb = (i / p.tblocks) % p.cblocks;
  let part = i / (p.tblocks * p.cblocks);
  if (part >= p.parts) {
    return;
  }
  let c0 = cb * COB;
  let g = c0 / p.og;
  let t0 = tb * 8u;
  let tp0 = tap(t0);
  let tp1 = tap(t0 + 1u);
  let tp2 = tap(t0 + 2u);
  let tp3 = tap(t0 + 3u);
  let tp4 = tap(t0 + 4u);
  let tp5 = tap(t0 + 5u);
  let tp6 = tap(t0 + 6u);
  let tp7 = tap(t0 + 7u);
  let aplane = p.ad * p.ah * p.aw;
  let bplane = p.bd * p.bh * p.bw;
  // Channel offsets in a of the block's channels, clamped.
  let last = p.ac - 1u;
  let ca1 = (min(c0 + 1u, last) - c0) * aplane;
  let ca2 = (min(c0 + 2u, last) - c0) * aplane;
  let ca3 = (min(c0 + 3u, last) - c0) * aplane;
  let zero = Acc(vec4<f32>(0.0), vec4<f32>(0.0));
  var acc0 = zero;
  var acc1 = zero;
  var acc2 = zero;
  var acc3 = zero;
  let r1 = min(p.total, part * p.chunk + p.chunk);
  var r = part * p.chunk;
  loop {
    if (r >= r1) {
      break;
    }
    let ox0 = r % p.aw;
    let rows = r / p.aw;
    let oy = rows % p.ah;
    let planes = rows / p.ah;
    let oz = planes % p.ad;
    let n = planes / p.ad;
    let len = min(p.aw - ox0, r1 - r);
    let bz = i32(oz * p.sd) - p.pd;
    let by = i32(oy * p.sh) - p.ph;
    let zy0 = inside_zy(tp0, bz, by);
    let zy1 = inside_zy(tp1, bz, by);
    let zy2 = inside_zy(tp2, bz, by);
    let zy3 = inside_zy(tp3, bz, by);
    let zy4 = inside_zy(tp4, bz, by);
    let zy5 = inside_zy(tp5, bz, by);
    let zy6 = inside_zy(tp6, bz, by);
    let zy7 = inside_zy(tp7, bz, by);
    let a_row = (n * p.ac + c0) * aplane + (oz * p.ah + oy) * p.aw + ox0;
    let b_row = i32((n * p.bc + g * p.bg) * bplane) + (bz * i32(p.bh) + by) * i32(p.bw);
    var bx = i32(ox0 * p.sw) - p.pw;
    for (var k = 0u; k < len; k++) {
      let lo = vec4<f32>(
        load_b(b_row, bx, tp0, zy0),
        load_b(b_row, bx, tp1, zy1),
        load_b(b_row, bx, tp2, zy2),
        load_b(b_row, bx, tp3, zy3),
      );
      let hi = vec4<f32>(
        load_b(b_row, bx, tp4, zy4),
        load_b(b_row, bx, tp5, zy5),
        load_b(b_row, bx, tp6, zy6),
        load_b(b_row, bx, tp7, zy7),
      );
      let at = a_row + k;
      acc0 = fma8(acc0, a[at], lo, hi);
      if (COB == 4u) {
        acc1 = fma8(acc1, a[at + ca1], lo, hi);
        acc2 = fma8(acc2, a[at + ca2], lo, hi);
        acc3 = fma8(acc3, a[at + ca3], lo, hi);
      }
      bx += i32(p.sw);
    }
    r += len;
  }
  store8(part, c0, t0, acc0);
  if (COB == 4u) {
    store8(part, c0 + 1u, t0, acc1);
    store8(part, c0 + 2u, t0, acc2);
    store8(part, c0 + 3u, t0, acc3);
  }
}
