// layer_norm_backward (dx pass): for each row of (rows, C), with
// x̂ = (x - mean) · rstd and g = gamma · dy,
//   dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)),
// and the row's mean and rstd stored for the dgamma / dbeta pass.
//
// Each invocation handles 4 rows (clamped to the last row; only real rows
// are stored), so each gamma value loaded serves 4 rows. The statistics
// are the forward's (Chan's merge of per-vec4 means and squared deviations).

struct Params {
  rows: u32,        // rows in this window
  c: u32,
  x_base: u32,      // window offsets (elements)
  dy_base: u32,
  dx_base: u32,
  stats_base: u32,  // index of the window's first row in stats
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> stats: array<f32>; // (rows, 2): mean, rstd

// Mean and 1 / std of one row.
fn row_stats(row: u32) -> vec2<f32> {
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

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let r = i * 4u;
  if (r >= p.rows) {
    return;
  }
  let last = p.rows - 1u;
  let ra = vec4<u32>(r, min(r + 1u, last), min(r + 2u, last), min(r + 3u, last));
  let s0 = row_stats(ra.x);
  let s1 = row_stats(ra.y);
  let s2 = row_stats(ra.z);
  let s3 = row_stats(ra.w);
  let mean = vec4<f32>(s0.x, s1.x, s2.x, s3.x);
  let rstd = vec4<f32>(s0.y, s1.y, s2.y, s3.y);
  let xo = ra * p.c + p.x_base;
  let go = ra * p.c + p.dy_base;
  var sg = vec4<f32>(0.0);
  var sgx = vec4<f32>(0.0);
  for (var j = 0u; j < p.c; j++) {
    let gj = gamma[j];
    let xh = (vec4<f32>(x[xo.x + j], x[xo.y + j], x[xo.z + j], x[xo.w + j]) - mean) * rstd;
    let g = gj * vec4<f32>(dy[go.x + j], dy[go.y + j], dy[go.z + j], dy[go.w + j]);
    sg += g;
    sgx += g * xh;
  }
  let inv_c = 1.0 / f32(p.c);
  sg *= inv_c;
  sgx *= inv_c;
  let n = min(4u, p.rows - r);
  for (var j = 0u; j < p.c; j++) {
    let gj = gamma[j];
    let xh = (vec4<f32>(x[xo.x + j], x[xo.y + j], x[xo.z + j], x[xo.w + j]) - mean) * rstd;
    let g = gj * vec4<f32>(dy[go.x + j], dy[go.y + j], dy[go.z + j], dy[go.w + j]);
    let d = rstd * (g - sg - xh * sgx);
    for (var k = 0u; k < n; k++) {
      dx[p.dx_base + (r + k) * p.c + j] = d[k];
    }
  }
  for (var k = 0u; k < n; k++) {
    let at = 2u * (p.stats_base + r + k);
    stats[at] = mean[k];
    stats[at + 1u] = rstd[k];
  }
}
