// add_broadcast: y = a + b[i % nb], where b repeats over a's leading dims
// (UNETR's position embeddings over the batch, per-channel biases).

struct Params {
  n: u32,       // elements of a (and y) in this window
  nb: u32,      // elements of b
  a_base: u32,  // element offsets of the windows
  y_base: u32,
  first: u32,   // index of this window's first element in a, for i % nb
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.n) {
    return;
  }
  y[p.y_base + i] = a[p.a_base + i] + b[(p.first + i) % p.nb];
}
