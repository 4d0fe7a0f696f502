// sumsq: partial sums of squares of a gradient, for the global gradient norm.
// Invocation i sums elements [i·CHUNK, (i + 1)·CHUNK) of the window and
// writes out[out_base + i].

struct Params {
  n: u32,
  g_base: u32,
  out_base: u32,
  chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let start = i * p.chunk;
  if (start >= p.n) {
    return;
  }
  var s = 0.0;
  for (var j = start; j < min(p.n, start + p.chunk); j++) {
    let v = g[p.g_base + j];
    s += v * v;
  }
  out[p.out_base + i] = s;
}
