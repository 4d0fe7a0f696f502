// group_norm_backward_groups: one invocation per group n * G + g forms, with
// dxhat = dv * gamma and M elements per group,
//   A = sum dxhat / M, B = sum dxhat * xhat / M
// from the planes' totals, and writes (mean, rstd, A, B) for
// group_norm_backward: dx = rstd * (dxhat - A - xhat * B).

struct Params {
  groups: u32,     // N * G
  per_group: u32,  // C / G
  channels: u32,   // C
  affine: u32,     // 1: gamma is bound
  eps: f32,
  size: f32,       // M = C / G * plane
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> totals: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> coef: array<vec4<f32>>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.groups) {
    return;
  }
  let first = i * p.per_group;  // plane n * C + g * C / G
  let c0 = first % p.channels;
  var t = vec2<f32>(0.0);
  for (var k = 0u; k < p.per_group; k++) {
    var ga = 1.0;
    if (p.affine == 1u) {
      ga = gamma[c0 + k];
    }
    t = fma(vec2<f32>(ga), totals[first + k], t);
  }
  let s = stats[i];
  let rstd = 1.0 / sqrt(s.z / f32(bitcast<u32>(s.x)) + p.eps);
  coef[i] = vec4<f32>(s.y, rstd, t / p.size);
}
