// batch_norm_train: the normalisation pass of training-mode BatchNorm,
// y = (x - mean) * invstd * weight + bias with the batch statistics, and an
// optional fused ReLU. Each invocation handles 16 consecutive elements of
// one (n, c) plane, so the per-channel loads are amortised.

struct Params {
  planes: u32,    // N * C
  plane: u32,     // elements per plane
  channels: u32,  // C
  relu: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read> invstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let chunks = (p.plane + 15u) / 16u;
  let pl = i / chunks;
  if (pl >= p.planes) {
    return;
  }
  let c = pl % p.channels;
  let scale = weight[c] * invstd[c];
  let shift = bias[c];
  let m = mean[c];
  let e0 = (i % chunks) * 16u;
  let at = pl * p.plane;
  for (var e = e0; e < min(e0 + 16u, p.plane); e++) {
    var v = fma(x[at + e] - m, scale, shift);
    if (p.relu == 1u) {
      v = max(v, 0.0);
    }
    y[at + e] = v;
  }
}
