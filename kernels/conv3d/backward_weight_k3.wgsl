// conv_weight_grad_k3: the weight gradient of a 3x3x3 stride-1 Conv3d
// (groups 1, any padding), channels-first:
//
//   dw[c, j, kz, ky, kx] = sum over n and positions q of
//                          dy[n, c, q] · x[n, j, q - pad + (kz, ky, kx)]
//
// Each invocation computes 8 output channels x one (j, kz) plane of 9 taps
// over one chunk of the flattened (n, q) reduction, walking it row by row.
// Along a row the three kx taps of a ky row read x at bx, bx + 1, bx + 2, so
// each ky row keeps a sliding window of three values: per position it loads
// 3 values of x and 8 of dy for 72 FMAs (the general kernel: 12 loads for
// 32). Storage loads dominate on llvmpipe (each is a scalar loop over the
// SIMD lanes); 4 channels measured 2x slower, 16 no faster than 8. With
// several chunks (`parts` > 1) it writes partial sums (parts, Co, Ci·27)
// that the launcher sums.

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

fn store9(part: u32, c: u32, t0: u32, r0: vec3<f32>, r1: vec3<f32>, r2: vec3<f32>) {
  if (c >= p.ac) {
    return;
  }
  let at = (part * p.ac + c) * p.bc * 27u + t0;
  for (var k = 0u; k < 3u; k++) {
    out[at + k] = r0[k];
    out[at + 3u + k] = r1[k];
    out[at + 6u + k] = r2[k];
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let planes3 = p.bc * 3u;
  let jz = i % planes3;
  let cb = (i / planes3) % p.cblocks;
  let part = i / (planes3 * p.cblocks);
  if (part >= p.parts) {
    return;
  }
  let j = jz / 3u;
  let kz = i32(jz % 3u);
  let c0 = cb * 8u;
  let aplane = p.ad * p.ah * p.aw;
  let bplane = p.bd * p.bh * p.bw;
  let last = p.ac - 1u;
  let ca1 = (min(c0 + 1u, last) - c0) * aplane;
  let ca2 = (min(c0 + 2u, last) - c0) * aplane;
  let ca3 = (min(c0 + 3u, last) - c0) * aplane;
  let ca4 = (min(c0 + 4u, last) - c0) * aplane;
  let ca5 = (min(c0 + 5u, last) - c0) * aplane;
  let ca6 = (min(c0 + 6u, last) - c0) * aplane;
  let ca7 = (min(c0 + 7u, last) - c0) * aplane;
  var s00 = vec3<f32>(0.0);
  var s01 = vec3<f32>(0.0);
  var s02 = vec3<f32>(0.0);
  var s10 = vec3<f32>(0.0);
  var s11 = vec3<f32>(0.0);
  var s12 = vec3<f32>(0.0);
  var s20 = vec3<f32>(0.0);
  var s21 = vec3<f32>(0.0);
  var s22 = vec3<f32>(0.0);
  var s30 = vec3<f32>(0.0);
  var s31 = vec3<f32>(0.0);
  var s32 = vec3<f32>(0.0);
  var s40 = vec3<f32>(0.0);
  var s41 = vec3<f32>(0.0);
  var s42 = vec3<f32>(0.0);
  var s50 = vec3<f32>(0.0);
  var s51 = vec3<f32>(0.0);
  var s52 = vec3<f32>(0.0);
  var s60 = vec3<f32>(0.0);
  var s61 = vec3<f32>(0.0);
  var s62 = vec3<f32>(0.0);
  var s70 = vec3<f32>(0.0);
  var s71 = vec3<f32>(0.0);
  var s72 = vec3<f32>(0.0);
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
    let bz = i32(oz) - p.pd + kz;
    let by = i32(oy) - p.ph;
    let zok = u32(bz) < p.bd;
    let ok0 = zok && u32(by) < p.bh;
    let ok1 = zok && u32(by + 1) < p.bh;
    let ok2 = zok && u32(by + 2) < p.bh;
    let row0 = i32((n * p.bc + j) * bplane) + (bz * i32(p.bh) + by) * i32(p.bw);
    let row1 = row0 + i32(p.bw);
    let row2 = row1 + i32(p.bw);
    var bx = i32(ox0) - p.pw;
    var w0 = vec3<f32>(0.0, ld(row0, bx, ok0), ld(row0, bx + 1, ok0));
    var w1 = vec3<f32>(0.0, ld(row1, bx, ok1), ld(row1, bx + 1, ok1));
    var w2 = vec3<f32>(0.0, ld(row2, bx, ok2), ld(row2, bx + 1, ok2));
    let a_row = (n * p.ac + c0) * aplane + (oz * p.ah + oy) * p.aw + ox0;
    for (var k = 0u; k < len; k++) {
      w0 = vec3<f32>(w0.yz, ld(row0, bx + 2, ok0));
      w1 = vec3<f32>(w1.yz, ld(row1, bx + 2, ok1));
      w2 = vec3<f32>(w2.yz, ld(row2, bx + 2, ok2));
      let at = a_row + k;
      let g0 = a[at];
      let g1 = a[at + ca1];
      let g2 = a[at + ca2];
      let g3 = a[at + ca3];
      let g4 = a[at + ca4];
      let g5 = a[at + ca5];
      let g6 = a[at + ca6];
      let g7 = a[at + ca7];
      s00 += g0 * w0;
      s01 += g0 * w1;
      s02 += g0 * w2;
      s10 += g1 * w0;
      s11 += g1 * w1;
      s12 += g1 * w2;
      s20 += g2 * w0;
      s21 += g2 * w1;
      s22 += g2 * w2;
      s30 += g3 * w0;
      s31 += g3 * w1;
      s32 += g3 * w2;
      s40 += g4 * w0;
      s41 += g4 * w1;
      s42 += g4 * w2;
      s50 += g5 * w0;
      s51 += g5 * w1;
      s52 += g5 * w2;
      s60 += g6 * w0;
      s61 += g6 * w1;
      s62 += g6 * w2;
      s70 += g7 * w0;
      s71 += g7 * w1;
      s72 += g7 * w2;
      bx += 1;
    }
    r += len;
  }
  let t0 = j * 27u + u32(kz) * 9u;
  store9(part, c0 + 0u, t0, s00, s01, s02);
  store9(part, c0 + 1u, t0, s10, s11, s12);
  store9(part, c0 + 2u, t0, s20, s21, s22);
  store9(part, c0 + 3u, t0, s30, s31, s32);
  store9(part, c0 + 4u, t0, s40, s41, s42);
  store9(part, c0 + 5u, t0, s50, s51, s52);
  store9(part, c0 + 6u, t0, s60, s61, s62);
  store9(part, c0 + 7u, t0, s70, s71, s72);
}
