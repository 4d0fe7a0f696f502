// conv_transpose3d: transposed 3D convolution with kernel 2 and stride 2
// (padding 0), as in MONAI's UNETR: every input voxel (z, y, x) spreads to the
// 2x2x2 output voxels (2z + a, 2y + b, 2x + c) with weight w[ci, co, a, b, c].
//
// Each invocation computes {{COB}} output channels at one output depth 2z + a
// for one input row y and 4 consecutive input columns: output rows 2y and
// 2y + 1, 8 columns each. Per input channel it loads 4 input values once and
// reuses them for 4 taps x {{COB}} channels.
//
// Weights come from `prepareConvTranspose3dWeight` in a uniform buffer: per
// block of {{COB}} output channels, {{COB}}/4 vec4 of bias, then per input
// channel the 8 taps (a, b, c) of {{COB}}/4 vec4 each. A dispatch reduces
// over a range of input channels; the first writes acc + bias, later ones add.

struct Params {
  in_d: u32,
  in_h: u32,
  in_w: u32,
  in_n: u32,      // elements between batch items in the input window
  out_n: u32,     // elements between batch items in the output window
  ci: u32,        // input channels reduced by this dispatch
  c_lo: u32,      // first block channel this dispatch writes (0 unless a block is split)
  c_n: u32,       // output channels this dispatch writes
  items: u32,     // batch items in this dispatch
  cblocks: u32,   // channel blocks per batch item in this dispatch
  gpb: u32,       // workgroups per (batch item, block)
  xblocks: u32,   // ceil(in_w / 4)
  in_base: u32,   // element offset of the range's first input channel in the input window
  out_base: u32,  // element offset of the dispatch's first output channel in the output window
  w_base: u32,    // vec4 index of block 0's first input channel in the weight window
  w_block: u32,   // vec4 stride between blocks
  first: u32,     // 1: write acc + bias; 0: add acc to the output
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const COB: u32 = {{COB}}u;
const C4: u32 = COB / 4u;

// Writes the 8 output columns 2 * ox + {0..7} of one output row of the block:
// column 2 (ox + j) + c holds tap c of input column ox + j. The arrays are
// passed by value so that this loop never indexes the main accumulators.
fn emit_row(
  even: array<vec4<f32>, COB>,
  odd: array<vec4<f32>, COB>,
  bias: vec4<f32>,
  bias_hi: vec4<f32>,
  n: u32,
  b: u32,
  oz: u32,
  oy: u32,
  ox: u32,
) {
  let ow = 2u * p.in_w;
  let oplane = 2u * p.in_d * 2u * p.in_h * ow;
  for (var c = 0u; c < COB; c++) {
    let q = b * COB + c;
    if (q < p.c_lo || q - p.c_lo >= p.c_n) {
      continue;
    }
    let at = p.out_base + n * p.out_n + (q - p.c_lo) * oplane + (oz * 2u * p.in_h + oy) * ow + 2u * ox;
    let bv = select(bias[c % 4u], bias_hi[c % 4u], c >= 4u);
    for (var j = 0u; j < 4u; j++) {
      if (ox + j < p.in_w) {
        var v0 = even[c][j];
        var v1 = odd[c][j];
        if (p.first == 1u) {
          v0 += bv;
          v1 += bv;
        } else {
          v0 += y[at + 2u * j];
          v1 += y[at + 2u * j + 1u];
        }
        y[at + 2u * j] = v0;
        y[at + 2u * j + 1u] = v1;
      }
    }
  }
}

@compute @workgroup_size({{WG}})
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  // Linear index gid.x + gid.y * nwg.x * WG, split so that the block (and so
  // every weight address) depends on the workgroup only.
  let g = wid.x + wid.y * nwg.x;
  let blk = g / p.gpb;
  let n = blk / p.cblocks;
  let b = blk % p.cblocks;
  let s = (g % p.gpb) * {{WG}}u + lid;
  let ox = (s % p.xblocks) * 4u;
  let t = s / p.xblocks;
  let iy = t % p.in_h;
  // A 2D grid may round the workgroup count up: those past the last block do nothing.
  let live = t / p.in_h < 2u * p.in_d && blk < p.items * p.cblocks;
  let oz = min(t / p.in_h, 2u * p.in_d - 1u);
  let iz = oz / 2u;
  let a = oz % 2u;

  let wl = p.in_w - 1u;
  let cols = vec4<u32>(min(ox, wl), min(ox + 1u, wl), min(ox + 2u, wl), min(ox + 3u, wl));
  let row = (iz * p.in_h + iy) * p.in_w;
  let plane = p.in_d * p.in_h * p.in_w;

  var a00: array<vec4<f32>, COB>; // tap (b, c) = (0, 0): row 2y, even columns
  var a01: array<vec4<f32>, COB>; // (0, 1): row 2y, odd columns
  var a10: array<vec4<f32>, COB>; // (1, 0): row 2y + 1, even columns
  var a11: array<vec4<f32>, COB>; // (1, 1): row 2y + 1, odd columns
  for (var c = 0u; c < COB; c++) {
    a00[c] = vec4<f32>(0.0);
    a01[c] = vec4<f32>(0.0);
    a10[c] = vec4<f32>(0.0);
    a11[c] = vec4<f32>(0.0);
  }
  var wi = p.w_base + b * p.w_block + a * 4u * C4;
  for (var ci = 0u; ci < p.ci; ci++) {
    let base = p.in_base + n * p.in_n + ci * plane + row;
    // Columns past the edge are clamped; their outputs are never written.
    let v = vec4<f32>(x[base + cols.x], x[base + cols.y], x[base + cols.z], x[base + cols.w]);
    var w00: array<vec4<f32>, C4>;
    var w01: array<vec4<f32>, C4>;
    var w10: array<vec4<f32>, C4>;
    var w11: array<vec4<f32>, C4>;
    for (var q = 0u; q < C4; q++) {
      w00[q] = w[wi + q];
      w01[q] = w[wi + C4 + q];
      w10[q] = w[wi + 2u * C4 + q];
      w11[q] = w[wi + 3u * C4 + q];
    }
    wi += 8u * C4;
    for (var c = 0u; c < COB; c++) {
      a00[c] = fma(vec4<f32>(w00[c / 4u][c % 4u]), v, a00[c]);
      a01[c] = fma(vec4<f32>(w01[c / 4u][c % 4u]), v, a01[c]);
      a10[c] = fma(vec4<f32>(w10[c / 4u][c % 4u]), v, a10[c]);
      a11[c] = fma(vec4<f32>(w11[c / 4u][c % 4u]), v, a11[c]);
    }
  }
  if (!live) {
    return;
  }
  var bias = vec4<f32>(0.0);
  var bias_hi = vec4<f32>(0.0);
  if (p.first == 1u) {
    let bb = p.w_base + b * p.w_block - C4;
    bias = w[bb];
    if (C4 == 2u) {
      bias_hi = w[bb + 1u];
    }
  }
  emit_row(a00, a01, bias, bias_hi, n, b, oz, 2u * iy, ox);
  emit_row(a10, a11, bias, bias_hi, n, b, oz, 2u * iy + 1u, ox);
}
