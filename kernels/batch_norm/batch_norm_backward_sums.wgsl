// batch_norm_backward_sums: first pass of the BatchNorm backward. Each
// invocation reduces one chunk of one (n, c) plane to
//   (sum dy', sum dy' * (x - mean))
// where dy' = dy, or dy masked by y > 0 when ReLU was fused (y is then the
// forward output). Partials are ordered (channel, batch item, chunk).

struct Params {
  plane: u32,     // elements per (n, c) plane
  chunks: u32,    // chunks per plane
  chunk: u32,     // elements per chunk
  batch: u32,     // N
  channels: u32,  // C
  relu: u32,      // 1: mask dy by y > 0
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> partials: array<vec2<f32>>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let per_channel = p.batch * p.chunks;
  if (i >= p.channels * per_channel) {
    return;
  }
  let c = i / per_channel;
  let r = i % per_channel;
  let n = r / p.chunks;
  let start = (r % p.chunks) * p.chunk;
  let count = min(p.chunk, p.plane - start);
  let base = (n * p.channels + c) * p.plane + start;
  let m = mean[c];
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  let full = count / 4u;
  for (var j = 0u; j < full; j++) {
    let at = base + 4u * j;
    var g = vec4<f32>(dy[at], dy[at + 1u], dy[at + 2u], dy[at + 3u]);
    if (p.relu == 1u) {
      let out = vec4<f32>(y[at], y[at + 1u], y[at + 2u], y[at + 3u]);
      g = select(vec4<f32>(0.0), g, out > vec4<f32>(0.0));
    }
    s1 += g;
    s2 = fma(g, vec4<f32>(x[at], x[at + 1u], x[at + 2u], x[at + 3u]) - m, s2);
  }
  for (var j = base + 4u * full; j < base + count; j++) {
    var g = dy[j];
    if (p.relu == 1u && !(y[j] > 0.0)) {
      g = 0.0;
    }
    s1.x += g;
    s2.x = fma(g, x[j] - m, s2.x);
  }
  partials[i] = vec2<f32>((s1.x + s1.y) + (s1.z + s1.w), (s2.x + s2.y) + (s2.z + s2.w));
}
