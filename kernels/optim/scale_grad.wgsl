// scale_grad: g *= state[2], the dynamic loss scale, on the loss's gradient before the backward
// pass (torch.amp's scaler.scale(loss).backward()). Four elements per invocation.

struct Params {
  n: u32,
  base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> g: array<f32>;
@group(0) @binding(2) var<storage, read> state: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  let s = state[2];
  for (var i = i0; i < min(i0 + 4u, p.n); i++) {
    g[p.base + i] *= s;
  }
}
