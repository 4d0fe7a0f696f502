// elementwise: y = act(a + b) (OP add) or y = act(a) (OP act), in place
// (IN_PLACE 1: `a` is the output binding itself) or into a new tensor.
// One invocation per unit: one element, or a vec4 when every window offset
// and the element count are multiples of 4.

struct Params {
  units: u32,   // units in this dispatch
  y_base: u32,  // unit offset of the dispatch's first unit in each window
  a_base: u32,
  b_base: u32,
  slope: f32,   // leaky_relu negative slope
}

alias T = {{UNIT}};

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> y: array<T>;
@group(0) @binding(2) var<storage, read> a: array<T>; // unused (a dummy) when IN_PLACE
@group(0) @binding(3) var<storage, read> b: array<T>; // unused (a dummy) for OP act

const op_add: u32 = 0u;
const op_act: u32 = 1u;
const OP: u32 = op_{{OP}};
const IN_PLACE: bool = {{IN_PLACE}} == 1;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.units) {
    return;
  }
  var v: T;
  if (IN_PLACE) {
    v = y[p.y_base + i];
  } else {
    v = a[p.a_base + i];
  }
  if (OP == op_add) {
    v += b[p.b_base + i];
  }
  if (ACT == act_relu) {
    v = max(v, T(0.0));
  } else if (ACT == act_leaky_relu) {
    v = select(v * p.slope, v, v >= T(0.0));
  }
  y[p.y_base + i] = v;
}
