// group_norm_combine: one level of the tree that merges (count, mean, M2)
// partials with Chan et al.'s parallel formula:
//   n = na + nb, delta = mb - ma,
//   mean = ma + delta * nb / n, M2 = M2a + M2b + delta^2 * na * nb / n.
// Each invocation merges up to {{FAN}} consecutive partials of one group; the
// launcher repeats levels until one partial per group remains. Counts are
// u32 bit patterns in the .x component (exact past 2^24).

struct Params {
  len: u32,       // partials per group at this level
  outs: u32,      // partials per group after it: ceil(len / FAN)
  groups: u32,    // groups in this dispatch
  in_base: u32,   // vec4 offset of the first group's partials in the input window
  out_base: u32,  // vec4 offset of the first group's results in the output window
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<f32>>;

const FAN: u32 = {{FAN}}u;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.groups * p.outs) {
    return;
  }
  let g = i / p.outs;
  let first = (i % p.outs) * FAN;
  let last = min(first + FAN, p.len);
  let base = p.in_base + g * p.len;
  var acc = src[base + first];
  var n = bitcast<u32>(acc.x);
  var mean = acc.y;
  var m2 = acc.z;
  for (var j = first + 1u; j < last; j++) {
    let b = src[base + j];
    let nb = bitcast<u32>(b.x);
    let total = n + nb;
    let delta = b.y - mean;
    let fb = f32(nb) / f32(total);
    mean = fma(delta, fb, mean);
    m2 += b.z + delta * delta * (f32(n) * fb);
    n = total;
  }
  dst[p.out_base + i] = vec4<f32>(bitcast<f32>(n), mean, m2, 0.0);
}
