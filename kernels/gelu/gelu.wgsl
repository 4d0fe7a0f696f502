// gelu: y = gelu(x) elementwise (exact erf form; `gelu` is defined in
// gelu_fn.wgsl, prepended by the launcher). Each invocation handles 4
// consecutive elements.

struct Params {
  n: u32,       // elements in this window
  x_base: u32,
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  for (var j = i; j < min(i + 4u, p.n); j++) {
    y[p.y_base + j] = gelu(x[p.x_base + j]);
  }
}
