// conv3d_pack: repacks PyTorch conv weights and an optional bias (Co) into
// the blocked layout the conv3d and conv_transpose3d kernels read from a
// uniform buffer: per block of {{COB}} output channels, {{COB}} bias values,
// then for every (ci, tap) the block's {{COB}} weights. Weight (co, ci, tap)
// is read at co * s_co + ci * s_ci + tap: (Co, Ci, k...) for Conv3d and
// (Ci, Co, k...) for ConvTranspose3d; with `flip`, at tap k - 1 - tap (the
// kernel reversed: a Conv3d weight read as (Ci, Co, k...) and flipped is the
// convolution that computes its input gradient). Channels past Co are zero.
// One invocation per packed value.

struct Params {
  co: u32,         // output channels
  taps: u32,       // Ci * kernel taps
  k: u32,          // kernel taps per input channel
  s_co: u32,       // weight element stride between output channels
  s_ci: u32,       // weight element stride between input channels
  count: u32,      // packed values written by this dispatch
  block0: u32,     // first block of this dispatch
  w_base: u32,     // element offset of weight (block0 * COB, 0, 0) in the weight window
  b_base: u32,     // element offset of bias[block0 * COB] in the bias window
  out_base: u32,   // element offset of block0 in the packed window
  has_bias: u32,
  flip: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> wt: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> packed: array<f32>;

const COB: u32 = {{COB}}u;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  if (i >= p.count) {
    return;
  }
  let stride = COB * (p.taps + 1u);
  let b = i / stride;
  let r = i % stride;
  let c = r % COB;
  let co = (p.block0 + b) * COB + c;
  var v = 0.0;
  if (co < p.co) {
    let cl = b * COB + c; // channel index relative to the dispatch's first channel
    if (r < COB) {
      if (p.has_bias == 1u) {
        v = bias[p.b_base + cl];
      }
    } else {
      let t = r / COB - 1u;
      let tap = select(t % p.k, p.k - 1u - t % p.k, p.flip == 1u);
      v = wt[p.w_base + cl * p.s_co + (t / p.k) * p.s_ci + tap];
    }
  }
  packed[p.out_base + i] = v;
}
