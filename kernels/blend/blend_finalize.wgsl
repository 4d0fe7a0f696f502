// blend_finalize: mean = sum / count where count > 0, else 0 (the seed's
// never-covered pixels), in place over the sum map.

struct Params {
  n: u32,          // elements in this window
  sum_base: u32,
  count_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> sum: array<f32>;
@group(0) @binding(2) var<storage, read> count: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.n) {
    return;
  }
  let c = count[p.count_base + i];
  sum[p.sum_base + i] = select(0.0, sum[p.sum_base + i] / c, c > 0.0);
}
