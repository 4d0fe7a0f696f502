// group_norm_stats: first level of the group-norm reduction. Each invocation
// reduces one chunk of up to `chunk` consecutive elements of one channel
// plane to (count, mean, M2), M2 being the sum of squared deviations.
//
// Numerics: the chunk is shifted by its first element before summing, so
// sum(d) and sum(d^2) stay small even when the mean is far larger than the
// spread (data = 1000 + N(0, 1)), and four interleaved partial sums shorten
// the summation chains. Chunks are combined later with Chan's formula.
//
// Output: one vec4 per chunk, (bitcast count, mean, M2, 0), planes in order
// and chunks in order within a plane, so a group's chunks are contiguous.

struct Params {
  plane: u32,     // elements per channel plane (D * H * W)
  chunks: u32,    // chunks per plane: ceil(plane / chunk)
  chunk: u32,     // elements per chunk (a multiple of 4)
  planes: u32,    // planes in this dispatch
  in_base: u32,   // element offset of the first plane in the input window
  out_base: u32,  // vec4 offset of the first partial in the partials window
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<vec4<f32>>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.planes * p.chunks) {
    return;
  }
  let k = i % p.chunks;
  let start = k * p.chunk;
  let count = min(p.chunk, p.plane - start);
  let base = p.in_base + (i / p.chunks) * p.plane + start;
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
  let c = f32(count);
  let mean = shift + t1 / c;
  let m2 = max(t2 - t1 * (t1 / c), 0.0);
  partials[p.out_base + i] = vec4<f32>(bitcast<f32>(count), mean, m2, 0.0);
}
