// max_pool3d_backward: gradient of 2x2x2 max pooling with stride 2 (floor).
// One invocation per output cell rescans its 8 inputs in PyTorch's order
// (depth, then height, then width), keeps the first maximum, and writes the
// window's 8 input gradients: dy at the maximum, zeros elsewhere. Inputs
// outside every window (odd sizes) are zeroed by the launcher beforehand.

struct Params {
  in_d: u32,
  in_h: u32,
  in_w: u32,
  out_d: u32,
  out_h: u32,
  out_w: u32,
  planes: u32,  // N * C
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

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
  let at = pl * p.in_d * hw + (2u * oz * p.in_h + 2u * oy) * p.in_w + 2u * ox;
  var offsets: array<u32, 8>;
  for (var a = 0u; a < 8u; a++) {
    offsets[a] = (a >> 2u) * hw + ((a >> 1u) & 1u) * p.in_w + (a & 1u);
  }
  var best = x[at];
  var arg = 0u;
  for (var a = 1u; a < 8u; a++) {
    let v = x[at + offsets[a]];
    if (v > best) {
      best = v;
      arg = a;
    }
  }
  let g = dy[i];
  for (var a = 0u; a < 8u; a++) {
    dx[at + offsets[a]] = select(0.0, g, a == arg);
  }
}
