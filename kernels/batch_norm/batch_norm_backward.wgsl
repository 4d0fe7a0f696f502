// batch_norm_backward: the input gradient of training-mode BatchNorm,
// dx = k * dy' + q * (x - mean) + r with the per-channel coefficients
// (k, q, r, mean) of batch_norm_backward_reduce; dy' is dy masked by y > 0
// when ReLU was fused. Each invocation handles 16 consecutive elements of
// one (n, c) plane.

struct Params {
  planes: u32,    // N * C
  plane: u32,     // elements per plane
  channels: u32,  // C
  relu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> coef: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let chunks = (p.plane + 15u) / 16u;
  let pl = i / chunks;
  if (pl >= p.planes) {
    return;
  }
  let k = coef[pl % p.channels];
  let e0 = (i % chunks) * 16u;
  let at = pl * p.plane;
  for (var e = at + e0; e < at + min(e0 + 16u, p.plane); e++) {
    var g = dy[e];
    if (p.relu == 1u && !(y[e] > 0.0)) {
      g = 0.0;
    }
    dx[e] = fma(k.x, g, fma(k.y, x[e] - k.w, k.z));
  }
}
