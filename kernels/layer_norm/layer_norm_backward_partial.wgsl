// layer_norm_backward (dgamma / dbeta pass): partial sums over blocks of
// rows, part[blk] = [sum dy · x̂ (C values), sum dy (C values)], with x̂
// from the row statistics of the dx pass. A column sum over the blocks
// (broadcast_sum) finishes dgamma and dbeta.
//
// Each invocation sums 4 consecutive columns of one block (clamped to the
// last column; only real columns are stored), so each row's mean and rstd
// loaded serve 4 columns.

struct Params {
  rows: u32,        // rows in this window
  c: u32,
  block: u32,       // rows per block
  x_base: u32,      // window offsets (elements)
  dy_base: u32,
  stats_base: u32,  // index of the window's first row in stats
  part_base: u32,   // index of the window's first block in part
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<f32>; // (blocks, 2C)

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let groups = (p.c + 3u) / 4u;
  let blk = i / groups;
  let j0 = (i % groups) * 4u;
  let r0 = blk * p.block;
  if (r0 >= p.rows) {
    return;
  }
  let r1 = min(r0 + p.block, p.rows);
  let last = p.c - 1u;
  let js = vec4<u32>(j0, min(j0 + 1u, last), min(j0 + 2u, last), min(j0 + 3u, last));
  var dg = vec4<f32>(0.0);
  var db = vec4<f32>(0.0);
  for (var r = r0; r < r1; r++) {
    let s = 2u * (p.stats_base + r);
    let mean = stats[s];
    let rstd = stats[s + 1u];
    let xo = js + (p.x_base + r * p.c);
    let go = js + (p.dy_base + r * p.c);
    let xv = vec4<f32>(x[xo.x], x[xo.y], x[xo.z], x[xo.w]);
    let g = vec4<f32>(dy[go.x], dy[go.y], dy[go.z], dy[go.w]);
    dg += g * ((xv - mean) * rstd);
    db += g;
  }
  let at = (p.part_base + blk) * 2u * p.c + j0;
  for (var k = 0u; k < min(4u, p.c - j0); k++) {
    part[at + k] = dg[k];
    part[at + p.c + k] = db[k];
  }
}
