// max_pool3d: 2x2x2 max pooling with stride 2 (floor), PyTorch MaxPool3d(2).
// One invocation per output element; each reads its 8 input values.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let oplane = p.out_d * p.out_h * p.out_w;
  if (i >= p.planes * oplane) {
    return;
  }
  let pl = i / oplane;
  let r = i % oplane;
  let ox = r % p.out_w;
  let oy = (r / p.out_w) % p.out_h;
  let oz = r / (p.out_w * p.out_h);
  let hw = p.in_h * p.in_w;
  let at = p.in_base + pl * p.in_d * hw + (2u * oz * p.in_h + 2u * oy) * p.in_w + 2u * ox;
  let m0 = max(max(x[at], x[at + 1u]), max(x[at + p.in_w], x[at + p.in_w + 1u]));
  let b = at + hw;
  let m1 = max(max(x[b], x[b + 1u]), max(x[b + p.in_w], x[b + p.in_w + 1u]));
  y[p.out_base + i] = max(m0, m1);
}
