// conv_transpose2d: PyTorch ConvTranspose2d on channels-first images,
// weight (Ci, Co, kh, kw), output size (H - 1)·s - 2p + k; gathered per
// output: y[co][oy][ox] = b[co] + sum of x[ci][iy][ix] · w[ci][co][ky][kx]
// over oy = iy·s - p + ky, ox = ix·s - p + kx.
//
// Outputs with the same x-phase (ox mod s) use the same kernel columns, so
// each invocation computes 4 of them (ox = (4·q + j)·s + phase, j < 4) for 4
// output channels: every weight loaded serves 4 outputs and every input
// loaded serves 4 channels.

struct Params {
  n: u32,          // batch items in this dispatch
  ci: u32,
  co: u32,
  h: u32,
  w: u32,
  ho: u32,
  wo: u32,
  kh: u32,
  kw: u32,
  s: u32,
  pad: u32,
  x_base: u32,
  y_base: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> wt: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Weights (ci, co .. co + 3, ky, kx), channels clamped.
fn w4(ci: u32, co: u32, ky: u32, kx: u32) -> vec4<f32> {
  let last = p.co - 1u;
  let khw = p.kh * p.kw;
  let at = ci * p.co * khw + ky * p.kw + kx;
  return vec4<f32>(wt[at + min(co, last) * khw], wt[at + min(co + 1u, last) * khw], wt[at + min(co + 2u, last) * khw], wt[at + min(co + 3u, last) * khw]);
}

fn x1(row: u32, ix: i32) -> f32 {
  let inside = ix >= 0 && ix < i32(p.w);
  return select(0.0, x[row + u32(clamp(ix, 0, i32(p.w) - 1))], inside);
}

fn put(n: u32, co: u32, oy: u32, ox: u32, v: vec4<f32>) {
  if (ox >= p.wo) {
    return;
  }
  let plane = p.ho * p.wo;
  let at = p.y_base + (n * p.co + co) * plane + oy * p.wo + ox;
  for (var j = 0u; j < 4u; j++) {
    if (co + j < p.co) {
      y[at + j * plane] = v[j];
    }
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let per_phase = (p.wo + p.s - 1u) / p.s;     // outputs of one x-phase in a row (at most)
  let qb = (per_phase + 3u) / 4u;
  let cb = (p.co + 3u) / 4u;
  let row_lanes = p.s * qb;
  let n = i / (cb * p.ho * row_lanes);
  if (n >= p.n) {
    return;
  }
  let co = ((i / (p.ho * row_lanes)) % cb) * 4u;
  let oy = (i / row_lanes) % p.ho;
  let phase = (i % row_lanes) / qb;
  let q = (i % qb) * 4u;
  let ox0 = q * p.s + phase;                    // outputs ox0 + j·s, j < 4
  var b = vec4<f32>(0.0);
  if (p.has_bias == 1u) {
    let last = p.co - 1u;
    b = vec4<f32>(bias[min(co, last)], bias[min(co + 1u, last)], bias[min(co + 2u, last)], bias[min(co + 3u, last)]);
  }
  var a0 = b;
  var a1 = b;
  var a2 = b;
  var a3 = b;
  let ky0 = (oy + p.pad) % p.s;
  let kx0 = (phase + p.pad) % p.s;
  for (var ci = 0u; ci < p.ci; ci++) {
    for (var ky = ky0; ky < p.kh; ky += p.s) {
      if (oy + p.pad < ky) {
        break;
      }
      let iy = (oy + p.pad - ky) / p.s;
      if (iy >= p.h) {
        continue;
      }
      let row = p.x_base + ((n * p.ci + ci) * p.h + iy) * p.w;
      for (var kx = kx0; kx < p.kw; kx += p.s) {
        // ix of output j is q + j + d.
        let d = (i32(phase) + i32(p.pad) - i32(kx)) / i32(p.s);
        let ix = i32(q) + d;
        let wv = w4(ci, co, ky, kx);
        a0 += x1(row, ix) * wv;
        a1 += x1(row, ix + 1) * wv;
        a2 += x1(row, ix + 2) * wv;
        a3 += x1(row, ix + 3) * wv;
      }
    }
  }
  put(n, co, oy, ox0, a0);
  put(n, co, oy, ox0 + p.s, a1);
  put(n, co, oy, ox0 + 2u * p.s, a2);
  put(n, co, oy, ox0 + 3u * p.s, a3);
}
