// activation_backward: dx = dy where y > 0, else 0 (relu) or slope · dy
// (leaky_relu), from the forward's output y (as PyTorch's relu backward).
// One invocation per unit: one element, or a vec4 when every window offset
// and the element count are multiples of 4.

struct Params {
  units: u32,    // units in this dispatch
  y_base: u32,   // unit offsets of the windows
  dy_base: u32,
  dx_base: u32,
  slope: f32,    // 0 for relu
}

alias T = {{UNIT}};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<T>;
@group(0) @binding(2) var<storage, read> dy: array<T>;
@group(0) @binding(3) var<storage, read_write> dx: array<T>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.units) {
    return;
  }
  let g = dy[p.dy_base + i];
  dx[p.dx_base + i] = select(g * p.slope, g, y[p.y_base + i] > T(0.0));
}
