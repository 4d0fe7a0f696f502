// batch_norm_train_stats: first pass of training-mode BatchNorm statistics.
// Each invocation reduces one chunk of up to `chunk` consecutive elements of
// one (n, c) plane to (count, mean, M2), M2 being the sum of squared
// deviations, shifted by the chunk's first element so that the sums stay
// small when the mean dwarfs the spread (as group_norm_stats does).
//
// Output: one vec4 per chunk, (bitcast count, mean, M2, 0), ordered
// (channel, batch item, chunk), so a channel's partials are contiguous.

struct Params {
  plane: u32,     // elements per (n, c) plane
  chunks: u32,    // chunks per plane: ceil(plane / chunk)
  chunk: u32,     // elements per chunk (a multiple of 4)
  batch: u32,     // N
  channels: u32,  // C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;

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
  let shift = x[base];
  var s1 = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  let full = count / 4u;
  for (var j = 0u; j < full; j++) {
    let at = base + 4u * j;
    let d = vec4<f32>(x[at], x[at + 1u], x[at + 2u], x[at + 3u]) - shift;
    s1 += d;
    s2 = fma(d, d, s2);
  }
  for (var j = 4u * full; j < count; j++) {
    let d = x[base + j] - shift;
    s1.x += d;
    s2.x = fma(d, d, s2.x);
  }
  let t1 = (s1.x + s1.y) + (s1.z + s1.w);
  let t2 = (s2.x + s2.y) + (s2.z + s2.w);
  let cf = f32(count);
  let mean = shift + t1 / cf;
  let m2 = max(t2 - t1 * (t1 / cf), 0.0);
  partials[i] = vec4<f32>(bitcast<f32>(count), mean, m2, 0.0);
}
