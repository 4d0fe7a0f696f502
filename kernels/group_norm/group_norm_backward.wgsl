// group_norm_backward: the input gradient of group norm (+ activation),
//   dx = rstd * (dv * gamma - A - xhat * B)
// with xhat = (x - mean) * rstd, dv = dy * act'(xhat * gamma + beta) and the
// group's (mean, rstd, A, B) from group_norm_backward_groups. Each invocation
// handles {{RUN}} consecutive elements of one channel plane.

struct Params {
  plane: u32,      // elements per channel plane
  runs: u32,       // invocations per plane: ceil(plane / RUN)
  planes: u32,     // N * C
  channels: u32,   // C
  per_group: u32,  // C / G
  affine: u32,     // 1: gamma and beta are bound
  slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};
const RUN: u32 = {{RUN}}u;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.planes * p.runs) {
    return;
  }
  let pl = i / p.runs;
  let c = pl % p.channels;
  let k = coef[pl / p.per_group];
  var ga = 1.0;
  var be = 0.0;
  if (p.affine == 1u) {
    ga = gamma[c];
    be = beta[c];
  }
  let e0 = (i % p.runs) * RUN;
  let at = pl * p.plane;
  for (var e = at + e0; e < at + min(e0 + RUN, p.plane); e++) {
    let xhat = (x[e] - k.x) * k.y;
    var g = dy[e];
    if (ACT != act_none) {
      if (!(fma(xhat, ga, be) > 0.0)) {
        g = select(0.0, g * p.slope, ACT == act_leaky_relu);
      }
    }
    dx[e] = k.y * (fma(g, ga, -k.z) - xhat * k.w);
  }
}
