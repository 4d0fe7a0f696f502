// gelu: y = gelu(x) elementwise (exact erf form; `gelu` and `gelu4` are
// defined in gelu_fn.wgsl, prepended by the launcher). Each invocation
// handles 4 consecutive elements: one vec4 (VEC 1, when the count and both
// window offsets are multiples of 4) or four scalars.

struct Params {
  n: u32,       // units (vec4s or scalars) in this window
  x_base: u32,
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<{{UNIT}}>;
@group(0) @binding(2) var<storage, read_write> y: array<{{UNIT}}>;

// Units per invocation: 1 vec4, or 4 scalars.
const PER: u32 = {{PER}}u;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (gid.x + gid.y * nwg.x * {{WG}}u) * PER;
  for (var j = i; j < min(i + PER, p.n); j++) {
    y[p.y_base + j] = {{FN}}(x[p.x_base + j]);
  }
}
