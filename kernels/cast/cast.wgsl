// cast: y = x converted between f32 and f16 (SRC -> DST). f32 -> f16 rounds to nearest even and
// sends magnitudes past f16's range to ±inf explicitly (WGSL leaves that conversion
// indeterminate), since mixed-precision training finds an overflowed loss scale by the infinities
// its gradients hold; a NaN becomes +inf (llvmpipe would make it 0). Four consecutive elements
// per invocation, so a 32-bit word of f16s is only ever written by one invocation.

enable f16;

struct Params {
  n: u32,       // elements in this dispatch
  x_base: u32,  // element offset of the dispatch's first element in each window
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{SRC}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{DST}}>;

// Past the largest f16 (65504), round-to-nearest-even gives infinity from 65520 on.
const F16_OVERFLOW: f32 = 65520.0;

fn convert(v: {{SRC}}) -> {{DST}} {
  if ({{TO_F16}}) {
    let f = f32(v);
    let bits = bitcast<u32>(f) & 0x7fffffffu;
    let inf = unpack2x16float(0x7c00u).x; // f16's infinity, as an f32
    if (bits > 0x7f800000u) {
      return {{DST}}(f16(inf)); // NaN: llvmpipe converts it to 0; keep it non-finite
    }
    if (abs(f) >= F16_OVERFLOW) {
      return {{DST}}(f16(select(inf, -inf, f < 0.0)));
    }
    return {{DST}}(f16(f));
  }
  return {{DST}}(v);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  for (var i = i0; i < min(i0 + 4u, p.n); i++) {
    y[p.y_base + i] = convert(x[p.x_base + i]);
  }
}
