// swa: the equal-weight running average of torch.optim.swa_utils.AveragedModel,
// avg += (w - avg) / (n + 1) after n averaged models (n = 0 copies).

struct Params {
  n: u32,
  base: u32,
  count: f32,  // models averaged so far
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> avg: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  for (var i = i0; i < min(i0 + 4u, p.n); i++) {
    let k = p.base + i;
    avg[k] = avg[k] + (w[k] - avg[k]) / (p.count + 1.0);
  }
}
