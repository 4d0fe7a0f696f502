// blend: adds rows of one tile's map into the sum and count accumulators (the
// seed's tile blending), optionally weighted by a Gaussian window. The
// accumulators are a ring of fragment rows; the launcher splits a tile where
// the ring wraps, so the rows of one dispatch are contiguous. One invocation
// per tile pixel; the tiles of one submit are separate dispatches, so
// overlapping tiles never race.

struct Params {
  tile: u32,
  rows: u32,       // rows of this dispatch
  cols: u32,       // tile columns inside the fragment
  width: u32,      // fragment width (row pitch of the accumulators)
  x0: u32,         // tile origin column
  map_base: u32,   // element offset of the tile plane in the map window
  sum_base: u32,   // element offset of the first row in the sum window
  count_base: u32, // same in the count window
  ty0: u32,        // tile row of the dispatch's first row
  weighted: u32,   // 0: uniform (weight 1, the seed); 1: Gaussian window
  inv_two_s2: f32, // 1 / (2 sigma^2) of the Gaussian, in tile pixels
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> tile_map: array<f32>;
@group(0) @binding(2) var<storage, read_write> sum: array<f32>;
@group(0) @binding(3) var<storage, read_write> count: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.rows * p.cols) {
    return;
  }
  let y = i / p.cols;
  let x = i % p.cols;
  let ty = p.ty0 + y;
  let at = y * p.width + p.x0 + x;
  let v = tile_map[p.map_base + ty * p.tile + x];
  if (p.weighted == 0u) {
    sum[p.sum_base + at] += v;
    count[p.count_base + at] += 1.0;
  } else {
    let c = 0.5 * f32(p.tile - 1u);
    let dy = f32(ty) - c;
    let dx = f32(x) - c;
    let w = max(exp(-(dy * dy + dx * dx) * p.inv_two_s2), 1e-6);
    sum[p.sum_base + at] += w * v;
    count[p.count_base + at] += w;
  }
}
