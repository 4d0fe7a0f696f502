// flatten_depth_backward: gradient of the max over depth, (stacks, D, H*W)
// from (stacks, H*W): each upstream value goes to the depth index of the
// maximum (the first one on ties), zeros elsewhere. One invocation per
// output element of the forward; it rescans the depth column and writes the
// whole column of dx.

struct Params {
  plane: u32,   // H * W
  depth: u32,   // D
  stacks: u32,  // (batch, channel) pairs
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.stacks * p.plane) {
    return;
  }
  let base = (i / p.plane) * p.depth * p.plane + i % p.plane;
  var best = x[base];
  var arg = 0u;
  for (var d = 1u; d < p.depth; d++) {
    let v = x[base + d * p.plane];
    if (v > best) {
      best = v;
      arg = d;
    }
  }
  let g = dy[i];
  for (var d = 0u; d < p.depth; d++) {
    dx[base + d * p.plane] = select(0.0, g, d == arg);
  }
}
