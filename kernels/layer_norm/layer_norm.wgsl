// layer_norm: y = (x - mean) / sqrt(var + eps) · gamma + beta over the last
// dimension C of (rows, C); biased variance, as PyTorch.
//
// Each invocation normalises 4 rows, so each gamma and beta value loaded
// serves 4 rows (storage loads dominate on llvmpipe). The statistics pass
// merges per-vec4 means and squared deviations with Chan's formula, which
// stays accurate when |mean| >> std, then a second pass normalises.

struct Params {
  rows: u32,
  c: u32,
  x_base: u32,
  y_base: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

// Mean and 1 / std of one row.
fn stats(row: u32) -> vec2<f32> {
  let at = p.x_base + row * p.c;
  let c4 = p.c / 4u;
  var mean = 0.0;
  var m2 = 0.0;
  var n = 0.0;
  for (var j = 0u; j < c4; j++) {
    let o = at + 4u * j;
    let v = vec4<f32>(x[o], x[o + 1u], x[o + 2u], x[o + 3u]);
    let cm = (v.x + v.y + v.z + v.w) * 0.25;
    let d = v - cm;
    let delta = cm - mean;
    let total = n + 4.0;
    mean += delta * (4.0 / total);
    m2 += dot(d, d) + delta * delta * (n * 4.0 / total);
    n = total;
  }
  for (var j = 4u * c4; j < p.c; j++) {
    let v = x[at + j];
    n += 1.0;
    let delta = v - mean;
    mean += delta / n;
    m2 += delta * (v - mean);
  }
  return vec2<f32>(mean, inverseSqrt(m2 / n + p.eps));
}

fn put(row: u32, j: u32, s: vec2<f32>, g: f32, b: f32) {
  if (row < p.rows) {
    let at = row * p.c + j;
    y[p.y_base + at] = (x[p.x_base + at] - s.x) * s.y * g + b;
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let r = i * 4u;
  if (r >= p.rows) {
    return;
  }
  let last = p.rows - 1u;
  let s0 = stats(r);
  let s1 = stats(min(r + 1u, last));
  let s2 = stats(min(r + 2u, last));
  let s3 = stats(min(r + 3u, last));
  for (var j = 0u; j < p.c; j++) {
    let g = gamma[j];
    let b = beta[j];
    put(r, j, s0, g, b);
    put(r + 1u, j, s1, g, b);
    put(r + 2u, j, s2, g, b);
    put(r + 3u, j, s3, g, b);
  }
}
