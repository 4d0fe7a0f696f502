// batch_norm: eval-mode BatchNorm2d on channels-first (N, C, H, W) with
// running statistics, y = (x - mean) / sqrt(var + eps) · gamma + beta, and
// an optional fused ReLU (SegFormer's decode head: linear_fuse -> BN -> ReLU).
//
// Each invocation handles 16 consecutive elements of one (n, c) plane, so
// the four per-channel parameters are loaded once per 16 elements.

struct Params {
  planes: u32,       // (n, c) planes in this dispatch
  plane: u32,        // H * W
  channels: u32,     // C
  first_plane: u32,  // index n * C + c of the dispatch's first plane
  x_base: u32,
  y_base: u32,
  eps: f32,
  relu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> variance: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let chunks = (p.plane + 15u) / 16u;
  let pl = i / chunks;
  if (pl >= p.planes) {
    return;
  }
  let c = (p.first_plane + pl) % p.channels;
  let scale = gamma[c] * inverseSqrt(variance[c] + p.eps);
  let shift = beta[c] - mean[c] * scale;
  let e0 = (i % chunks) * 16u;
  let at = pl * p.plane;
  for (var e = e0; e < min(e0 + 16u, p.plane); e++) {
    var v = x[p.x_base + at + e] * scale + shift;
    if (p.relu == 1u) {
      v = max(v, 0.0);
    }
    y[p.y_base + at + e] = v;
  }
}
