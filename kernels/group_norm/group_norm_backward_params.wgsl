// group_norm_backward_params: one invocation per channel sums the planes'
// totals over the batch: dbeta = sum dv, dgamma = sum dv * xhat.

struct Params {
  batch: u32,     // N
  channels: u32,  // C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> totals: array<vec2<f32>>;
@group(0) @binding(2) var<storage, read_write> dgamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbeta: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.x + gid.y * nwg.x * {{WG}}u;
  if (c >= p.channels) {
    return;
  }
  var t = vec2<f32>(0.0);
  for (var n = 0u; n < p.batch; n++) {
    t += totals[n * p.channels + c];
  }
  dbeta[c] = t.x;
  dgamma[c] = t.y;
}
