// upsample_nearest3d_backward: gradient of the nearest-neighbour resize. Each
// input cell receives the sum of the upstream gradients of the output cells
// that copy it. Per axis the forward's source index (the same function as
// upsample_nearest3d.wgsl, float32 scale, floor, clamp) is non-decreasing in
// the output index, so the cells that copy input index i form one contiguous
// range, found by scanning a few candidates around i * out / in. One
// invocation per input element.

struct Params {
  in_d: u32,
  in_h: u32,
  in_w: u32,
  out_d: u32,
  out_h: u32,
  out_w: u32,
  planes: u32,  // N * C
  scale_d: f32, // in / out per axis, rounded to float32 by the launcher
  scale_h: f32,
  scale_w: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;

fn source_index(dst: u32, size_in: u32, size_out: u32, scale: f32) -> u32 {
  if (size_out == size_in) {
    return dst;
  }
  if (size_out == 2u * size_in) {
    return dst / 2u;
  }
  return min(u32(floor(f32(dst) * scale)), size_in - 1u);
}

/** The output range [lo, hi) along one axis whose source index is `i` (empty: lo >= hi). */
fn range(i: u32, size_in: u32, size_out: u32, scale: f32) -> vec2<u32> {
  let first = (i * size_out) / size_in;
  let c0 = select(0u, first - 2u, first >= 2u);
  let c1 = min(size_out, ((i + 1u) * size_out + size_in - 1u) / size_in + 2u);
  var lo = size_out;
  var hi = 0u;
  for (var o = c0; o < c1; o++) {
    if (source_index(o, size_in, size_out, scale) == i) {
      lo = min(lo, o);
      hi = o + 1u;
    }
  }
  return vec2<u32>(lo, hi);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let iplane = p.in_d * p.in_h * p.in_w;
  if (i >= p.planes * iplane) {
    return;
  }
  let pl = i / iplane;
  let r = i % iplane;
  let rx = range(r % p.in_w, p.in_w, p.out_w, p.scale_w);
  let ry = range((r / p.in_w) % p.in_h, p.in_h, p.out_h, p.scale_h);
  let rz = range(r / (p.in_w * p.in_h), p.in_d, p.out_d, p.scale_d);
  var acc = 0.0;
  for (var z = rz.x; z < rz.y; z++) {
    for (var y = ry.x; y < ry.y; y++) {
      let row = ((pl * p.out_d + z) * p.out_h + y) * p.out_w;
      for (var x = rx.x; x < rx.y; x++) {
        acc += dy[row + x];
      }
    }
  }
  dx[i] = acc;
}
