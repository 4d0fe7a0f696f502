// flatten_depth: reduces (stacks, D, H*W) to (stacks, H*W) over depth, by
// max (the seed's `tensor.max(dim=2)`) or mean. One invocation per output
// element; reads stride by one plane, so neighbouring invocations read
// neighbouring addresses.

struct Params {
  plane: u32,     // H * W
  depth: u32,     // D
  stacks: u32,    // (batch, channel) pairs in this dispatch
  in_base: u32,   // element offset of the first stack in the input window
  out_base: u32,  // element offset of the first output plane in the output window
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const reduce_max: u32 = 0u;
const reduce_mean: u32 = 1u;
const REDUCE: u32 = reduce_{{REDUCE}};

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.stacks * p.plane) {
    return;
  }
  let s = i / p.plane;
  let e = i % p.plane;
  var at = p.in_base + s * p.depth * p.plane + e;
  var acc = x[at];
  for (var d = 1u; d < p.depth; d++) {
    at += p.plane;
    if (REDUCE == reduce_max) {
      acc = max(acc, x[at]);
    } else {
      acc += x[at];
    }
  }
  if (REDUCE == reduce_mean) {
    acc /= f32(p.depth);
  }
  y[p.out_base + i] = acc;
}
