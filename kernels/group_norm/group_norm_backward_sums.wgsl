// group_norm_backward_sums: first pass of the group-norm backward. With
// xhat = (x - mean) * rstd (the group's statistics), v = xhat * gamma + beta
// (or xhat without affine) and dv = dy * act'(v), each invocation reduces one
// chunk of one channel plane to (sum dv, sum dv * xhat). The activation's
// derivative follows PyTorch: relu 1 where v > 0, leaky_relu 1 where v > 0
// and `slope` elsewhere. Partials are ordered (plane n * C + c, chunk).

struct Params {
  plane: u32,      // elements per channel plane
  chunks: u32,     // chunks per plane: ceil(plane / chunk)
  chunk: u32,      // elements per chunk
  planes: u32,     // N * C
  channels: u32,   // C
  per_group: u32,  // C / G
  affine: u32,     // 1: gamma and beta are bound
  eps: f32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> partials: array<vec2<f32>>;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.planes * p.chunks) {
    return;
  }
  let pl = i / p.chunks;
  let c = pl % p.channels;
  let s = stats[pl / p.per_group];
  let mean = s.y;
  let rstd = 1.0 / sqrt(s.z / f32(bitcast<u32>(s.x)) + p.eps);
  var ga = 1.0;
  var be = 0.0;
  if (p.affine == 1u) {
    ga = gamma[c];
    be = beta[c];
  }
  let start = (i % p.chunks) * p.chunk;
  let base = pl * p.plane + start;
  let count = min(p.chunk, p.plane - start);
  var s1 = vec2<f32>(0.0);
  var s2 = vec2<f32>(0.0);
  for (var j = 0u; j < count; j++) {
    let xhat = (x[base + j] - mean) * rstd;
    var g = dy[base + j];
    if (ACT != act_none) {
      let v = fma(xhat, ga, be);
      if (!(v > 0.0)) {
        g = select(0.0, g * p.slope, ACT == act_leaky_relu);
      }
    }
    let lane = j & 1u;
    s1[lane] += g;
    s2[lane] = fma(g, xhat, s2[lane]);
  }
  partials[i] = vec2<f32>(s1.x + s1.y, s2.x + s2.y);
}
