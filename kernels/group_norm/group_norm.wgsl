// group_norm: the normalisation pass. y = act((x - mean) * rstd * gamma + beta)
// with the group's mean and rstd = 1 / sqrt(M2 / count + eps) (biased
// variance), computed as y = act((x - mean) * a + b) per channel. Each invocation
// handles {{RUN}} consecutive units ({{UNIT}}: one element, or four when the
// plane and window offsets are multiples of 4) of one channel plane, so the
// per-channel loads (group stats, gamma, beta) are amortised.

struct Params {
  plane: u32,       // elements per channel plane
  runs: u32,        // invocations per plane: ceil(plane / (VEC * RUN))
  planes: u32,      // planes in this dispatch
  channels: u32,    // C
  per_group: u32,   // C / G
  plane0: u32,      // global index (n * C + c) of this dispatch's first plane
  in_base: u32,     // element offset of the first plane in the input window
  out_base: u32,    // element offset of the first plane in the output window
  group0: u32,      // global group index (n * G + g) of the first plane's group
  stats_base: u32,  // vec4 offset of group0's stats in the stats window
  affine: u32,      // 1: gamma and beta are bound
  eps: f32,
  slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> stats: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

alias T = {{UNIT}};
const width_f32: u32 = 1u;
const width_vec4f: u32 = 4u;
const VEC: u32 = width_{{UNIT}};
const RUN: u32 = {{RUN}}u;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};

fn activate(v: T) -> T {
  if (ACT == act_relu) {
    return max(v, T(0.0));
  }
  if (ACT == act_leaky_relu) {
    return select(v * p.slope, v, v >= T(0.0));
  }
  return v;
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.planes * p.runs) {
    return;
  }
  let pl = i / p.runs;
  let global = p.plane0 + pl;           // n * C + c
  let c = global % p.channels;
  let group = global / p.per_group - p.group0;
  let s = stats[p.stats_base + group];
  let variance = s.z / f32(bitcast<u32>(s.x));
  // y = (x - mean) * a + b: x - mean is exact for x near the mean (no cancellation
  // against a large precomputed shift when the mean dwarfs the spread).
  let mean = s.y;
  var a = 1.0 / sqrt(variance + p.eps);
  var b = 0.0;
  if (p.affine == 1u) {
    a *= gamma[c];
    b = beta[c];
  }
  let units = p.plane / VEC;
  let u0 = (i % p.runs) * RUN;
  let xb = p.in_base / VEC + pl * units;
  let yb = p.out_base / VEC + pl * units;
  for (var u = u0; u < min(u0 + RUN, units); u++) {
    y[yb + u] = activate(fma(x[xb + u] - T(mean), T(a), T(b)));
  }
}
