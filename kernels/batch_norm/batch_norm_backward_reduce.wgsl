// batch_norm_backward_reduce: second pass of the BatchNorm backward. One
// invocation per channel sums the channel's partials into
//   s1 = sum dy', s2 = sum dy' * (x - mean)
// and writes dbias = s1, dweight = s2 * invstd and the coefficients of the
// input gradient, dx = k * dy' + q * (x - mean) + r, with (M = N * plane)
//   k = weight * invstd, q = -k * invstd^2 * s2 / M, r = -k * s1 / M
// packed (k, q, r, mean) per channel.

struct Params {
  len: u32,       // partials per channel
  channels: u32,  // C
  count: f32,     // M = N * plane
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dweight: array<f32>;
@group(0) @binding(6) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<vec4<f32>>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * {{WG}}u;
  if (c >= p.channels) {
    return;
  }
  let base = c * p.len;
  // Two interleaved accumulators shorten the summation chain.
  var a = vec2<f32>(0.0);
  var b = vec2<f32>(0.0);
  var j = 0u;
  for (; j + 1u < p.len; j += 2u) {
    a += partials[base + j];
    b += partials[base + j + 1u];
  }
  if (j < p.len) {
    a += partials[base + j];
  }
  let s1 = a.x + b.x;
  let s2 = a.y + b.y;
  let is = invstd[c];
  dbias[c] = s1;
  dweight[c] = s2 * is;
  let k = weight[c] * is;
  coef[c] = vec4<f32>(k, -k * is * is * s2 / p.count, -k * s1 / p.count, mean[c]);
}
