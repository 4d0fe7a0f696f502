// shuffle: the scatter half of ConvTranspose3d k2 s2 as a GEMM. The GEMM gives
// C (8·Co, D·H·W) for one batch item, row co·8 + a·4 + b·2 + c holding the
// (a, b, c) tap of output channel co; this writes
// y[co, 2z + a, 2y + b, 2x + c] = C[co·8 + a·4 + b·2 + c, (z·H + y)·W + x] + bias[co].
// One invocation per (co, z, y, x): its 8 outputs, as four pairs along x.

struct Params {
  co: u32,
  d: u32,
  h: u32,
  w: u32,
  c_base: u32,
  y_base: u32,
  has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> c: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let plane = p.d * p.h * p.w;
  if (i >= p.co * plane) {
    return;
  }
  let ch = i / plane;
  let v = i % plane;
  let x = v % p.w;
  let yy = (v / p.w) % p.h;
  let z = v / (p.w * p.h);
  var b = 0.0;
  if (p.has_bias == 1u) {
    b = bias[ch];
  }
  let row = p.c_base + ch * 8u * plane + v;
  let ow = 2u * p.w;
  let oplane = 4u * p.h * p.w;
  let out = p.y_base + ch * 8u * plane + 2u * z * oplane + 2u * yy * ow + 2u * x;
  for (var a = 0u; a < 2u; a++) {
    for (var bb = 0u; bb < 2u; bb++) {
      let tap = a * 4u + bb * 2u;
      let o = out + a * oplane + bb * ow;
      y[o] = c[row + tap * plane] + b;
      y[o + 1u] = c[row + (tap + 1u) * plane] + b;
    }
  }
}
