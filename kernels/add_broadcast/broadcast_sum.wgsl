// broadcast_sum: the gradient of b in add_broadcast. x is (reps, nb) row-
// major; y[blk, j] = sum of x[r, j] over the rows r of block blk
// ([blk · block, min((blk + 1) · block, reps))). One pass with a single
// block sums everything; two passes (partial sums per block, then the sum
// of the partials) keep many invocations busy when nb is small.

struct Params {
  nb: u32,      // columns (elements of b)
  reps: u32,    // rows of x in this window
  block: u32,   // rows per block
  x_base: u32,  // element offset of the window's first row
  y_base: u32,  // block index of the window's first block in y
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let j = i % p.nb;
  let blk = i / p.nb;
  let r0 = blk * p.block;
  if (r0 >= p.reps) {
    return;
  }
  let r1 = min(r0 + p.block, p.reps);
  var s = 0.0;
  for (var r = r0; r < r1; r++) {
    s += x[p.x_base + r * p.nb + j];
  }
  y[(p.y_base + blk) * p.nb + j] = s;
}
