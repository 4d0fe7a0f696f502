// dropout: y = x · keep / (1 - p), where keep is 1 with probability 1 - p.
//
// keep comes from a counter-based hash, not from stored state: element i
// (or, for drop-path, its sample i / per) is kept when
// lowbias32(unit + key) / 2^32 >= p, with key = the op's seed mixed with its
// salt. The backward pass runs the same kernel on dL/dy with the same key,
// so the mask is never stored and a resumed run draws the same masks.
// lowbias32 comes from kernels/hash.wgsl, prepended by the launcher.

struct Params {
  n: u32,
  per: u32,      // elements per mask unit: 1 (dropout) or one sample's size (drop-path)
  key: u32,
  p: f32,
  scale: f32,    // 1 / (1 - p)
}

@group(0) @binding(0) var<uniform> u: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= u.n) {
    return;
  }
  let r = f32(lowbias32(i / u.per + u.key)) * (1.0 / 4294967296.0);
  y[i] = select(0.0, x[i] * u.scale, r >= u.p);
}
