// conv_weight_grad_k3: the weight gradient of a 3x3x3 stride-1 Conv3d
// (groups 1, any padding), channels-first:
//
//   dw[c, j, kz, ky, kx] = sum over n and positions q of
//                          dy[n, c, q] · x[n, j, q - pad + (kz, ky, kx)]
//
// Each invocation computes 8 output channels x all 27 taps of one input
// channel j over one chunk of the flattened (n, q) reduction, walking it row
// by row. Along a row the three kx taps of a (kz, ky) row read x at bx,
// bx + 1, bx + 2, so each of the nine (kz, ky) rows keeps a sliding window of
// three values: per position it loads 9 values of x and 8 of dy for 216 FMAs.
// Storage loads dominate on llvmpipe (each is a scalar loop over the SIMD
// lanes), and registers, spilled or not, are cheap: one (kz) plane per
// invocation (11 loads per 72 FMAs) ran 1.4x slower. With several chunks
// (`parts` > 1) it writes partial sums (parts, Co, Ci·27) that the launcher
// sums.

struct Params {
  n: u32,
  ac: u32,        // dy: channels and spatial size (the reduction positions)
  ad: u32,
  ah: u32,
  aw: u32,
  bc: u32,        // x: channels and spatial size
  bd: u32,
  bh: u32,
  bw: u32,
  pd: i32,
  ph: i32,
  pw: i32,
  cblocks: u32,   // ceil(ac / 4)
  chunk: u32,     // reduction positions per part
  parts: u32,
  total: u32,     // n * ad * ah * aw
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn ld(row: i32, x: i32, ok: bool) -> f32 {
  let valid = ok && u32(x) < p.bw;
  return select(0.0, b[u32(select(0, row + x, valid))], valid);
}

// The 8 channels' sums of one (kz, ky) row of taps: one vec3 (kx) per channel.
struct Acc8 {
  c0: vec3<f32>,
  c1: vec3<f32>,
  c2: vec3<f32>,
  c3: vec3<f32>,
  c4: vec3<f32>,
  c5: vec3<f32>,
  c6: vec3<f32>,
  c7: vec3<f32>,
}

// dy at one position for the 8 channels.
struct G8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

fn add8(s: Acc8, g: G8, w: vec3<f32>) -> Acc8 {
  return Acc8(
    fma(vec3<f32>(g.lo.x), w, s.c0),
    fma(vec3<f32>(g.lo.y), w, s.c1),
    fma(vec3<f32>(g.lo.z), w, s.c2),
    fma(vec3<f32>(g.lo.w), w, s.c3),
    fma(vec3<f32>(g.hi.x), w, s.c4),
    fma(vec3<f32>(g.hi.y), w, s.c5),
    fma(vec3<f32>(g.hi.z), w, s.c6),
    fma(vec3<f32>(g.hi.w), w, s.c7),
  );
}

// Writes the 3 taps (kx) of tap row t0 / 3 for the 8 channels of the block.
fn store_row(part: u32, c0: u32, t0: u32, s: Acc8) {
  store3(part, c0, t0, s.c0);
  store3(part, c0 + 1u, t0, s.c1);
  store3(part, c0 + 2u, t0, s.c2);
  store3(part, c0 + 3u, t0, s.c3);
  store3(part, c0 + 4u, t0, s.c4);
  store3(part, c0 + 5u, t0, s.c5);
  store3(part, c0 + 6u, t0, s.c6);
  store3(part, c0 + 7u, t0, s.c7);
}

fn store3(part: u32, c: u32, t0: u32, v: vec3<f32>) {
  if (c >= p.ac) {
    return;
  }
  let at = (part * p.ac + c) * p.bc * 27u + t0;
  out[at] = v.x;
  out[at + 1u] = v.y;
  out[at + 2u] = v.z;
}

// One (kz, ky) row of x: its flat row offset and whether it lies inside x.
struct XRow {
  at: i32,
  ok: bool,
}

fn xrow(n: u32, j: u32, oz: u32, oy: u32, kz: i32, ky: i32) -> XRow {
  let bz = i32(oz) - p.pd + kz;
  let by = i32(oy) - p.ph + ky;
  let ok = u32(bz) < p.bd && u32(by) < p.bh;
  return XRow(i32((n * p.bc + j) * p.bd * p.bh * p.bw) + (bz * i32(p.bh) + by) * i32(p.bw), ok);
}

// The window x[bx - 1 .. bx + 1] of a row, given x[bx - 2 .. bx] (slid by one).
fn slide(w: vec3<f32>, r: XRow, bx: i32) -> vec3<f32> {
  return vec3<f32>(w.yz, ld(r.at, bx, r.ok));
}

// The starting window x[bx - 2 .. bx] (the first value is slid out unused).
fn start(r: XRow, bx: i32) -> vec3<f32> {
  return vec3<f32>(0.0, ld(r.at, bx - 2, r.ok), ld(r.at, bx - 1, r.ok));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let j = i % p.bc;
  let cb = (i / p.bc) % p.cblocks;
  let part = i / (p.bc * p.cblocks);
  if (part >= p.parts) {
    return;
  }
  let c0 = cb * 8u;
  let aplane = p.ad * p.ah * p.aw;
  let last = p.ac - 1u;
  let ca1 = (min(c0 + 1u, last) - c0) * aplane;
  let ca2 = (min(c0 + 2u, last) - c0) * aplane;
  let ca3 = (min(c0 + 3u, last) - c0) * aplane;
  let ca4 = (min(c0 + 4u, last) - c0) * aplane;
  let ca5 = (min(c0 + 5u, last) - c0) * aplane;
  let ca6 = (min(c0 + 6u, last) - c0) * aplane;
  let ca7 = (min(c0 + 7u, last) - c0) * aplane;
  let z = vec3<f32>(0.0);
  let zero = Acc8(z, z, z, z, z, z, z, z);
  // s<kz><ky>
  var s00 = zero;
  var s01 = zero;
  var s02 = zero;
  var s10 = zero;
  var s11 = zero;
  var s12 = zero;
  var s20 = zero;
  var s21 = zero;
  var s22 = zero;
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
    let x00 = xrow(n, j, oz, oy, 0, 0);
    let x01 = xrow(n, j, oz, oy, 0, 1);
    let x02 = xrow(n, j, oz, oy, 0, 2);
    let x10 = xrow(n, j, oz, oy, 1, 0);
    let x11 = xrow(n, j, oz, oy, 1, 1);
    let x12 = xrow(n, j, oz, oy, 1, 2);
    let x20 = xrow(n, j, oz, oy, 2, 0);
    let x21 = xrow(n, j, oz, oy, 2, 1);
    let x22 = xrow(n, j, oz, oy, 2, 2);
    // bx: the column of x under tap kx = 2 at the current position.
    var bx = i32(ox0) - p.pw + 2;
    var w00 = start(x00, bx);
    var w01 = start(x01, bx);
    var w02 = start(x02, bx);
    var w10 = start(x10, bx);
    var w11 = start(x11, bx);
    var w12 = start(x12, bx);
    var w20 = start(x20, bx);
    var w21 = start(x21, bx);
    var w22 = start(x22, bx);
    let a_row = (n * p.ac + c0) * aplane + (oz * p.ah + oy) * p.aw + ox0;
    for (var k = 0u; k < len; k++) {
      let at = a_row + k;
      let g = G8(
        vec4<f32>(a[at], a[at + ca1], a[at + ca2], a[at + ca3]),
        vec4<f32>(a[at + ca4], a[at + ca5], a[at + ca6], a[at + ca7]),
      );
      w00 = slide(w00, x00, bx);
      w01 = slide(w01, x01, bx);
      w02 = slide(w02, x02, bx);
      w10 = slide(w10, x10, bx);
      w11 = slide(w11, x11, bx);
      w12 = slide(w12, x12, bx);
      w20 = slide(w20, x20, bx);
      w21 = slide(w21, x21, bx);
      w22 = slide(w22, x22, bx);
      s00 = add8(s00, g, w00);
      s01 = add8(s01, g, w01);
      s02 = add8(s02, g, w02);
      s10 = add8(s10, g, w10);
      s11 = add8(s11, g, w11);
      s12 = add8(s12, g, w12);
      s20 = add8(s20, g, w20);
      s21 = add8(s21, g, w21);
      s22 = add8(s22, g, w22);
      bx += 1;
    }
    r += len;
  }
  let t0 = j * 27u;
  store_row(part, c0, t0, s00);
  store_row(part, c0, t0 + 3u, s01);
  store_row(part, c0, t0 + 6u, s02);
  store_row(part, c0, t0 + 9u, s10);
  store_row(part, c0, t0 + 12u, s11);
  store_row(part, c0, t0 + 15u, s12);
  store_row(part, c0, t0 + 18u, s20);
  store_row(part, c0, t0 + 21u, s21);
  store_row(part, c0, t0 + 24u, s22);
}
