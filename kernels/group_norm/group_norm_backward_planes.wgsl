// group_norm_backward_planes: one invocation per channel plane sums the
// plane's chunk partials (sum dv, sum dv * xhat) into the plane's totals.

struct Params {
  chunks: u32,  // partials per plane
  planes: u32,  // N * C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> totals: array<vec2<f32>>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.planes) {
    return;
  }
  // Two interleaved accumulators shorten the summation chain.
  let base = i * p.chunks;
  var a = vec2<f32>(0.0);
  var b = vec2<f32>(0.0);
  var j = 0u;
  for (; j + 1u < p.chunks; j += 2u) {
    a += partials[base + j];
    b += partials[base + j + 1u];
  }
  if (j < p.chunks) {
    a += partials[base + j];
  }
  totals[i] = a + b;
}
