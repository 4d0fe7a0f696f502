// resize_bilinear: (planes, H, W) -> (planes, H2, W2) with PyTorch's
// F.interpolate(mode="bilinear", align_corners=False): source coordinate
// (dst + 0.5) · in / out - 0.5, clamped at 0; neighbours i0 = floor(src) and
// i0 + 1 (clamped to the edge); weights src - i0 and 1 - (src - i0). No
// antialiasing (PyTorch's default).
//
// Each invocation writes 4 consecutive outputs of one row. When upscaling
// by 2 or more along x (scale_x <= 0.5) those 4 outputs read at most 4
// consecutive source columns, so the invocation loads 2 rows x 4 columns
// once (8 loads instead of 16) and picks from registers.

struct Params {
  planes: u32,
  in_h: u32,
  in_w: u32,
  out_h: u32,
  out_w: u32,
  scale_y: f32,  // in_h / out_h, rounded to f32 as PyTorch does
  scale_x: f32,
  x_base: u32,
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Source index and weight of the second neighbour for output index `o`.
struct Src {
  i0: u32,
  i1: u32,
  l1: f32,
}

fn source(o: u32, scale: f32, size: u32) -> Src {
  let s = max(scale * (f32(o) + 0.5) - 0.5, 0.0);
  let i0 = min(u32(s), size - 1u);
  let i1 = min(i0 + 1u, size - 1u);
  return Src(i0, i1, clamp(s - f32(i0), 0.0, 1.0));
}

fn row4(at: u32, j: u32) -> vec4<f32> {
  let last = p.in_w - 1u;
  return vec4<f32>(x[at + min(j, last)], x[at + min(j + 1u, last)], x[at + min(j + 2u, last)], x[at + min(j + 3u, last)]);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let xb = (p.out_w + 3u) / 4u;
  let pl = i / (xb * p.out_h);
  if (pl >= p.planes) {
    return;
  }
  let oy = (i / xb) % p.out_h;
  let ox = (i % xb) * 4u;
  let sy = source(oy, p.scale_y, p.in_h);
  let r0 = p.x_base + (pl * p.in_h + sy.i0) * p.in_w;
  let r1 = p.x_base + (pl * p.in_h + sy.i1) * p.in_w;
  let out = p.y_base + (pl * p.out_h + oy) * p.out_w + ox;
  let jb = source(ox, p.scale_x, p.in_w).i0;
  let shared_cols = p.scale_x <= 0.5;
  var top = vec4<f32>(0.0);
  var bottom = vec4<f32>(0.0);
  if (shared_cols) {
    top = row4(r0, jb);
    bottom = row4(r1, jb);
  }
  for (var j = 0u; j < 4u; j++) {
    if (ox + j >= p.out_w) {
      break;
    }
    let sx = source(ox + j, p.scale_x, p.in_w);
    var a: vec2<f32>;
    var b: vec2<f32>;
    if (shared_cols) {
      a = vec2<f32>(top[sx.i0 - jb], top[sx.i1 - jb]);
      b = vec2<f32>(bottom[sx.i0 - jb], bottom[sx.i1 - jb]);
    } else {
      a = vec2<f32>(x[r0 + sx.i0], x[r0 + sx.i1]);
      b = vec2<f32>(x[r1 + sx.i0], x[r1 + sx.i1]);
    }
    let wx = 1.0 - sx.l1;
    y[out + j] = (1.0 - sy.l1) * (wx * a.x + sx.l1 * a.y) + sy.l1 * (wx * b.x + sx.l1 * b.y);
  }
}
