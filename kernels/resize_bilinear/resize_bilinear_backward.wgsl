// resize_bilinear_backward: the gradient of resize_bilinear (PyTorch's
// align_corners=False, source index clamped at 0) as a gather: each input
// pixel sums the output gradients whose interpolation reads it, weighted as
// the forward weighs it, so no atomics are needed.
//
// Along one axis, output o reads source rows i0(o) and i1(o) =
// min(i0 + 1, size - 1) with weights 1 - l1 and l1 (both on the last row
// when i0 is the last). i0 is monotone in o, so the outputs that read input
// i lie in o ∈ [(i - 0.5) · out / in - 0.5, (i + 1.5) · out / in - 0.5);
// the loop covers that range plus one on each side and recomputes the
// forward's exact indices and weights for every candidate.
//
// Each invocation writes 4 consecutive input pixels of one row, so each
// output gradient loaded serves 4 of them.

struct Params {
  planes: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_y: f32,  // in_h / out_h, rounded to f32 as PyTorch does
  scale_x: f32,
  inv_y: f32,    // out_h / in_h, for the candidate range only
  inv_x: f32,
  dy_base: u32,
  dx_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

struct Src {
  i0: u32,
  i1: u32,
  l1: f32,
}

// The forward's source indices and second weight for output index `o`.
fn source(o: u32, scale: f32, size: u32) -> Src {
  let s = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
  let i0 = min(u32(s), size - 1u);
  let i1 = min(i0 + 1u, size - 1u);
  return Src(i0, i1, clamp(s - f32(i0), 0.0, 1.0));
}

// Outputs [first, last] that may read inputs [a, b] of an axis.
fn candidates(a: u32, b: u32, inv: f32, out: u32) -> vec2<u32> {
  let lo = i32(floor((f32(a) - 0.5) * inv - 0.5)) - 1;
  let hi = i32(ceil((f32(b) + 1.5) * inv - 0.5)) + 1;
  return vec2<u32>(u32(max(lo, 0)), u32(min(hi, i32(out) - 1)));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let xb = (p.in_w + 3u) / 4u;
  let pl = i / (xb * p.in_h);
  if (pl >= p.planes) {
    return;
  }
  let iy = (i / xb) % p.in_h;
  let ix0 = (i % xb) * 4u;
  let ixs = vec4<u32>(ix0, ix0 + 1u, ix0 + 2u, ix0 + 3u);
  let ys = candidates(iy, iy, p.inv_y, p.out_h);
  let xs = candidates(ix0, min(ix0 + 3u, p.in_w - 1u), p.inv_x, p.out_w);
  let z = vec4<f32>(0.0);
  var acc = z;
  for (var oy = ys.x; oy <= ys.y; oy++) {
    let sy = source(oy, p.scale_y, p.in_h);
    let wy = select(0.0, 1.0 - sy.l1, sy.i0 == iy) + select(0.0, sy.l1, sy.i1 == iy);
    if (wy == 0.0) {
      continue;
    }
    let row = p.dy_base + (pl * p.out_h + oy) * p.out_w;
    for (var ox = xs.x; ox <= xs.y; ox++) {
      let sx = source(ox, p.scale_x, p.in_w);
      let w = select(z, vec4<f32>(1.0 - sx.l1), vec4<u32>(sx.i0) == ixs) +
        select(z, vec4<f32>(sx.l1), vec4<u32>(sx.i1) == ixs);
      acc += w * (wy * dy[row + ox]);
    }
  }
  let at = p.dx_base + (pl * p.in_h + iy) * p.in_w;
  for (var k = 0u; k < 4u; k++) {
    if (ix0 + k < p.in_w) {
      dx[at + ix0 + k] = acc[k];
    }
  }
}
