// rot90: a gather of up to 8 rotated / mirrored copies of (H, W) planes,
// summed and scaled. One variant is torch.rot90 (with an optional flip); all
// of a TTA batch's variants at once are the inverse-transform-and-mean of
// tta_merge. One invocation per output element.
//
// Variant v reads, for output element (i, j) of output plane s,
//   x[v.x + s * in_plane + v.y + i * v.z + j * v.w]
// where v.x is the window offset of the variant's first input plane, v.y the
// plane offset of source element (0, 0), and v.z, v.w the signed (two's
// complement) steps of the source index per output row and column. u32
// arithmetic wraps, so negative steps land back inside the plane.

struct Params {
  stacks: u32,      // output planes in this dispatch
  out_w: u32,       // output plane width
  out_plane: u32,   // output plane size
  in_plane: u32,    // input plane size
  variants: u32,    // variants summed (1..8)
  accumulate: u32,  // 1: add what y already holds (a later group of variants)
  scale: f32,       // multiplies the total (1 / G on the last group of a mean)
  out_base: u32,    // element offset of the first output plane in the output window
  v: array<vec4<u32>, 8>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.stacks * p.out_plane) {
    return;
  }
  let s = i / p.out_plane;
  let e = i % p.out_plane;
  let r = e / p.out_w;
  let c = e % p.out_w;
  let plane = s * p.in_plane;
  var acc = 0.0;
  for (var g = 0u; g < p.variants; g++) {
    let v = p.v[g];
    acc += x[v.x + plane + v.y + r * v.z + c * v.w];
  }
  let at = p.out_base + i;
  if (p.accumulate != 0u) {
    acc += y[at];
  }
  y[at] = acc * p.scale;
}
