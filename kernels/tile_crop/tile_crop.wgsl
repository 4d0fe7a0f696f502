// tile_crop: copies one tile of a row band of integer voxels into a float32
// tile, normalising on the way and writing zeros past the fragment's edge
// (the seed's zero padding).
//
// Input: the band ring, (layers, ring_rows, pitch) integers of {{BITS}} bits
// packed into u32 words; fragment row y lives in ring row y % ring_rows.
// Output: planes of tile x tile floats, one per layer. Each invocation writes
// 16 consecutive floats of one row (4 x vec4): the row's ring offset and the
// edge test are computed once per 16 voxels, and interior runs read whole
// words without per-voxel bounds checks.

struct Params {
  tile: u32,        // tile edge T (multiple of 16)
  planes: u32,      // layers written by this dispatch
  y0: u32,          // tile origin in the padded fragment
  x0: u32,
  height: u32,      // original fragment size: voxels at or past it are padding
  width: u32,
  ring_rows: u32,
  pitch: u32,       // elements per ring row
  in_base: u32,     // element offset of this dispatch's first layer in the input window
  out_base: u32,    // vec4 offset of this dispatch's first plane in the output window
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> band: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;

const PER_WORD: u32 = 32u / {{BITS}}u;
const MASK: u32 = (1u << {{BITS}}u) - 1u;

// Normalisation, chosen when the kernel is compiled.
const norm_seed: u32 = 0u; // (v >> 8) / 255: OpenCV's 16-to-8-bit read, then /255
const norm_u16: u32 = 1u;  // v / 65535
const norm_u8: u32 = 2u;   // v / 255
const norm_none: u32 = 3u; // v
const NORM: u32 = norm_{{NORM}};

fn norm(v: u32) -> f32 {
  switch NORM {
    case norm_seed: { return f32(v >> 8u) / 255.0; }
    case norm_u16: { return f32(v) / 65535.0; }
    case norm_u8: { return f32(v) / 255.0; }
    default: { return f32(v); }
  }
}

// Element e of the packed band, normalised.
fn at(e: u32) -> f32 {
  return norm((band[e / PER_WORD] >> ((e % PER_WORD) * {{BITS}}u)) & MASK);
}

// Voxels 4k..4k+3 of the aligned run starting at word w.
fn unpack4(w: u32, k: u32) -> vec4<f32> {
  if (PER_WORD == 2u) {
    let a = band[w + 2u * k];
    let b = band[w + 2u * k + 1u];
    return vec4<f32>(norm(a & MASK), norm(a >> 16u), norm(b & MASK), norm(b >> 16u));
  }
  let a = band[w + k];
  return vec4<f32>(norm(a & MASK), norm((a >> 8u) & MASK), norm((a >> 16u) & MASK), norm(a >> 24u));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let runs = p.tile / 16u;
  if (i >= p.planes * p.tile * runs) {
    return;
  }
  let r = i % runs;
  let row = i / runs;              // z * tile + y
  let y = row % p.tile;
  let z = row / p.tile;
  let gy = p.y0 + y;
  let gx = p.x0 + r * 16u;
  let o = p.out_base + row * (p.tile / 4u) + r * 4u;
  if (gy >= p.height || gx >= p.width) {
    let zero = vec4<f32>(0.0);
    out[o] = zero;
    out[o + 1u] = zero;
    out[o + 2u] = zero;
    out[o + 3u] = zero;
    return;
  }
  let e = p.in_base + (z * p.ring_rows + gy % p.ring_rows) * p.pitch + gx;
  if (gx + 16u <= p.width) {
    if (e % PER_WORD == 0u) {
      // Aligned run: whole words, {{BITS}}-bit fields unpacked in registers.
      let w = e / PER_WORD;
      for (var k = 0u; k < 4u; k++) {
        out[o + k] = unpack4(w, k);
      }
      return;
    }
    for (var k = 0u; k < 4u; k++) {
      let b = e + 4u * k;
      out[o + k] = vec4<f32>(at(b), at(b + 1u), at(b + 2u), at(b + 3u));
    }
    return;
  }
  for (var k = 0u; k < 4u; k++) {
    var v = vec4<f32>(0.0);
    for (var j = 0u; j < 4u; j++) {
      if (gx + 4u * k + j < p.width) {
        v[j] = at(e + 4u * k + j);
      }
    }
    out[o + k] = v;
  }
}
