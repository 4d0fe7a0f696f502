// batch_norm_train_finalize: second pass of training-mode BatchNorm. One
// invocation per channel merges the channel's (count, mean, M2) partials with
// Chan et al.'s formula, writes the batch mean and invstd = 1 / sqrt(var +
// eps) (biased variance, as PyTorch normalises), and, when `update` is 1,
// moves the running statistics in place like PyTorch:
//   running_mean = (1 - momentum) * running_mean + momentum * mean
//   running_var  = (1 - momentum) * running_var  + momentum * var * M / (M - 1)
// (the unbiased variance; M = N * plane).

struct Params {
  len: u32,       // partials per channel
  channels: u32,  // C
  eps: f32,
  momentum: f32,
  update: u32,    // 1: update the running statistics
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> invstd_out: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> running_var: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * {{WG}}u;
  if (c >= p.channels) {
    return;
  }
  let base = c * p.len;
  let first = partials[base];
  var n = bitcast<u32>(first.x);
  var mean = first.y;
  var m2 = first.z;
  for (var j = 1u; j < p.len; j++) {
    let b = partials[base + j];
    let nb = bitcast<u32>(b.x);
    let total = n + nb;
    let delta = b.y - mean;
    let fb = f32(nb) / f32(total);
    mean = fma(delta, fb, mean);
    m2 += b.z + delta * delta * (f32(n) * fb);
    n = total;
  }
  let variance = m2 / f32(n);
  mean_out[c] = mean;
  invstd_out[c] = 1.0 / sqrt(variance + p.eps);
  if (p.update == 1u) {
    let m = p.momentum;
    running_mean[c] = (1.0 - m) * running_mean[c] + m * mean;
    running_var[c] = (1.0 - m) * running_var[c] + m * (m2 / f32(n - 1u));
  }
}
