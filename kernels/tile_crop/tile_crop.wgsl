// tile_crop: copies one tile of a row band of integer voxels into a float32
// tile, normalising on the way and writing zeros past the fragment's edge
// (the seed's zero padding).
//
// Input: the band ring, (layers, ring_rows, pitch) integers of {{BITS}} bits
// packed into u32 words; fragment row y lives in ring row y % ring_rows.
// Output: planes of tile x tile floats, one per layer, written 4 at a time.

struct Params {
  tile: u32,        // tile edge T (multiple of 4)
  planes: u32,      // layers written by this dispatch
  y0: u32,          // tile origin in the padded fragment
  x0: u32,
  height: u32,      // original fragment size: voxels at or past it are padding
  width: u32,
  ring_rows: u32,
  pitch: u32,       // elements per ring row
  in_base: u32,     // element offset of this dispatch's first layer in the input window
  out_base: u32,    // vec4 offset of this dispatch's first plane in the output window
  mode: u32,        // 0: (v >> 8) / 255, 1: v / 65535, 2: v / 255, 3: v
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> band: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

fn voxel(z: u32, y: u32, x: u32) -> f32 {
  if (y >= p.height || x >= p.width) {
    return 0.0;
  }
  let e = p.in_base + (z * p.ring_rows + y % p.ring_rows) * p.pitch + x;
  let per_word = 32u / {{BITS}}u;
  let word = band[e / per_word];
  let v = (word >> ((e % per_word) * {{BITS}}u)) & ((1u << {{BITS}}u) - 1u);
  switch p.mode {
    case 0u: { return f32(v >> 8u) / 255.0; }
    case 1u: { return f32(v) / 65535.0; }
    case 2u: { return f32(v) / 255.0; }
    default: { return f32(v); }
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let quads = p.tile / 4u;
  if (i >= p.planes * p.tile * quads) {
    return;
  }
  let q = i % quads;
  let y = (i / quads) % p.tile;
  let z = i / (quads * p.tile);
  let gy = p.y0 + y;
  let gx = p.x0 + q * 4u;
  out[p.out_base + i] = vec4<f32>(
    voxel(z, gy, gx),
    voxel(z, gy, gx + 1u),
    voxel(z, gy, gx + 2u),
    voxel(z, gy, gx + 3u),
  );
}
