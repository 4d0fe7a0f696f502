// blend: adds one tile's map into whole-fragment sum and count maps (the
// seed's uniform-weight tile blending), clipping the tile to the fragment.
// One invocation per tile pixel; tiles of one submit are separate dispatches,
// so overlapping tiles never race.

struct Params {
  tile: u32,
  rows: u32,       // tile rows inside the fragment (the rest is padding)
  cols: u32,       // tile columns inside the fragment
  width: u32,      // fragment width (row pitch of the maps)
  x0: u32,         // tile origin column
  map_base: u32,   // element offset of the tile plane in the map window
  sum_base: u32,   // element offset of the tile's first row in the sum window
  count_base: u32, // same in the count window
  add_count: u32,  // 1 for the first channel of a tile, 0 for the others
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
  let at = y * p.width + p.x0 + x;
  sum[p.sum_base + at] += tile_map[p.map_base + y * p.tile + x];
  if (p.add_count == 1u) {
    count[p.count_base + at] += 1.0;
  }
}
