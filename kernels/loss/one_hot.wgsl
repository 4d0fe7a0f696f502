// one_hot: out[b, c, i] = 1 where round(y[b, 0, i]) == c, else 0.

struct Params {
  batch: u32,
  classes: u32,
  plane: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let k = gid.x + gid.y * nwg.x * {{WG}}u;
  if (k >= p.batch * p.classes * p.plane) {
    return;
  }
  let i = k % p.plane;
  let c = (k / p.plane) % p.classes;
  let b = k / (p.plane * p.classes);
  out[k] = select(0.0, 1.0, u32(round(y[b * p.plane + i])) == c);
}
