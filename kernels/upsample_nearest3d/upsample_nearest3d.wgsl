// upsample_nearest3d: nearest-neighbour resize of channel planes to an
// explicit size, PyTorch `F.interpolate(mode="nearest")`: per axis the
// source index is min(floor(dst * scale), in - 1) with scale = in / out
// computed in float32 (the same rounding as ATen), or dst / 2 exactly when
// out = 2 * in, or dst when out = in. One invocation per output element.

struct Params {
  in_d: u32,
  in_h: u32,
  in_w: u32,
  out_d: u32,
  out_h: u32,
  out_w: u32,
  planes: u32,    // channel planes in this dispatch
  in_base: u32,   // element offset of the first plane in the input window
  out_base: u32,  // element offset of the first plane in the output window
  scale_d: f32,   // in / out per axis, rounded to float32 by the launcher
  scale_h: f32,
  scale_w: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

fn source_index(dst: u32, size_in: u32, size_out: u32, scale: f32) -> u32 {
  if (size_out == size_in) {
    return dst;
  }
  if (size_out == 2u * size_in) {
    return dst / 2u;
  }
  return min(u32(floor(f32(dst) * scale)), size_in - 1u);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let oplane = p.out_d * p.out_h * p.out_w;
  if (i >= p.planes * oplane) {
    return;
  }
  let pl = i / oplane;
  let r = i % oplane;
  let ix = source_index(r % p.out_w, p.in_w, p.out_w, p.scale_w);
  let iy = source_index((r / p.out_w) % p.out_h, p.in_h, p.out_h, p.scale_h);
  let iz = source_index(r / (p.out_w * p.out_h), p.in_d, p.out_d, p.scale_d);
  y[p.out_base + i] = x[p.in_base + ((pl * p.in_d + iz) * p.in_h + iy) * p.in_w + ix];
}
