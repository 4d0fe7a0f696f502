// conv3d: general 3D convolution (any kernel size, stride and zero padding;
// dilation 1, groups 1). The 3x3x3 stride-1 case has its own kernel,
// conv3d_k3.wgsl, with more register reuse; this one serves 1x1x1 and the
// strided patch embedding.
//
// Each invocation computes {{COB}} output channels x 4 consecutive output
// columns (one vec4 per channel) of one output row. The reduction runs over
// "slices", (input channel, kernel depth) pairs, of kh x kw taps each; a
// dispatch reduces over a contiguous range of slices so that its weights fit
// one 64 KiB uniform window and its input channels fit 4 storage windows.
// The first range writes acc + bias, later ones add, the last activates.
//
// Weights (`prepareConv3dWeight`): per block of {{COB}} output channels,
// {{COB}}/4 vec4 of bias, then per (ci, kz, ky, kx) tap {{COB}}/4 vec4.

struct Params {
  in_base: vec4<u32>,  // element offset of the chunk's first channel in each input window
  out_base: vec4<u32>, // element offset of the dispatch's first channel in each output window
  in_d: u32,
  in_h: u32,
  in_w: u32,
  in_n: u32,           // elements between batch items in input window 0
  out_d: u32,
  out_h: u32,
  out_w: u32,
  out_n: u32,          // elements between batch items in output window 0
  kd: u32,
  kh: u32,
  kw: u32,
  sd: u32,
  sh: u32,
  sw: u32,
  pd: u32,
  ph: u32,
  pw: u32,
  slices: u32,         // (ci, kz) slices reduced by this dispatch
  kz0: u32,            // kernel depth of the first slice (its channel is the chunk's first)
  cpx: u32,            // channel planes per input window
  cpy: u32,            // channel planes per output window
  c_lo: u32,           // first block channel this dispatch writes (0 unless a block is split)
  c_n: u32,            // output channels this dispatch writes
  items: u32,          // batch items in this dispatch
  cblocks: u32,        // channel blocks per batch item in this dispatch
  gpb: u32,            // workgroups per (batch item, block)
  xblocks: u32,        // ceil(out_w / 4)
  w_base: u32,         // vec4 index of block 0's first slice in the weight window
  w_block: u32,        // vec4 stride between blocks
  first: u32,          // 1: write acc + bias; 0: add acc to the output
  last: u32,           // 1: apply the activation
  slope: f32,          // leaky_relu negative slope
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<uniform> w: array<vec4<f32>, 4096>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> x1: array<f32>;
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read> x3: array<f32>;
@group(0) @binding(6) var<storage, read_write> y0: array<f32>;
@group(0) @binding(7) var<storage, read_write> y1: array<f32>;
@group(0) @binding(8) var<storage, read_write> y2: array<f32>;
@group(0) @binding(9) var<storage, read_write> y3: array<f32>;

const COB: u32 = {{COB}}u;
const C4: u32 = COB / 4u;
// Input and output windows actually used (1 or 4); with 1 the others are bound but never read.
const XW: u32 = {{XW}}u;
const YW: u32 = {{YW}}u;

const act_none: u32 = 0u;
const act_relu: u32 = 1u;
const act_leaky_relu: u32 = 2u;
const ACT: u32 = act_{{ACT}};

fn ld(k: u32, i: u32) -> f32 {
  if (XW == 1u) {
    return x0[i];
  }
  switch k {
    case 0u: { return x0[i]; }
    case 1u: { return x1[i]; }
    case 2u: { return x2[i]; }
    default: { return x3[i]; }
  }
}

fn activate(v: vec4<f32>) -> vec4<f32> {
  if (ACT == act_relu) {
    return max(v, vec4<f32>(0.0));
  }
  if (ACT == act_leaky_relu) {
    return select(v * p.slope, v, v >= vec4<f32>(0.0));
  }
  return v;
}

fn store(k: u32, i: u32, v: f32) {
  if (YW == 1u) {
    y0[i] = v;
    return;
  }
  switch k {
    case 0u: { y0[i] = v; }
    case 1u: { y1[i] = v; }
    case 2u: { y2[i] = v; }
    default: { y3[i] = v; }
  }
}

fn load_out(k: u32, i: u32) -> f32 {
  if (YW == 1u) {
    return y0[i];
  }
  switch k {
    case 0u: { return y0[i]; }
    case 1u: { return y1[i]; }
    case 2u: { return y2[i]; }
    default: { return y3[i]; }
  }
}

fn emit(c: u32, n: u32, b: u32, oz: u32, oy: u32, ox: u32, acc: vec4<f32>, bias: f32) {
  let q = b * COB + c;
  if (q < p.c_lo || q - p.c_lo >= p.c_n) {
    return;
  }
  let r = q - p.c_lo;
  let k = r / p.cpy;
  let oplane = p.out_d * p.out_h * p.out_w;
  let at = p.out_base[k] + n * p.out_n + (r % p.cpy) * oplane + (oz * p.out_h + oy) * p.out_w + ox;
  var v = acc;
  if (p.first == 1u) {
    v += vec4<f32>(bias);
  } else {
    for (var j = 0u; j < 4u; j++) {
      if (ox + j < p.out_w) {
        v[j] += load_out(k, at + j);
      }
    }
  }
  if (p.last == 1u) {
    v = activate(v);
  }
  for (var j = 0u; j < 4u; j++) {
    if (ox + j < p.out_w) {
      store(k, at + j, v[j]);
    }
  }
}

// Writes the block's outputs: the array is passed by value so that this loop,
// which the compiler may keep rolled, never indexes the main loop's
// accumulators (that would move them to scratch memory).
fn emit_row(
  acc: array<vec4<f32>, COB>,
  bias: array<vec4<f32>, C4>,
  n: u32,
  b: u32,
  oz: u32,
  oy: u32,
  ox: u32,
) {
  for (var c = 0u; c < COB; c++) {
    emit(c, n, b, oz, oy, ox, acc[c], bias[c / 4u][c % 4u]);
  }
}

@compute @workgroup_size({{WG}})
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let g = wid.x + wid.y * nwg.x;
  let blk = g / p.gpb;
  let n = blk / p.cblocks;
  let b = blk % p.cblocks;
  let s = (g % p.gpb) * {{WG}}u + lid;
  let ox = (s % p.xblocks) * 4u;
  let t = s / p.xblocks;
  let oy = t % p.out_h;
  // A 2D grid may round the workgroup count up: those past the last block do nothing.
  let live = t / p.out_h < p.out_d && blk < p.items * p.cblocks;
  let oz = min(t / p.out_h, p.out_d - 1u);

  var acc: array<vec4<f32>, COB>; // function variables start at zero
  let plane = p.in_d * p.in_h * p.in_w;
  let ix0 = vec4<i32>(vec4<u32>(ox, ox + 1u, ox + 2u, ox + 3u) * p.sw) - i32(p.pw);
  let wl = i32(p.in_w) - 1;
  var wi = p.w_base + b * p.w_block;
  var ci = 0u;
  var kz = p.kz0;
  for (var j = 0u; j < p.slices; j++) {
    let k = ci / p.cpx;
    let cbase = p.in_base[k] + n * p.in_n + (ci % p.cpx) * plane;
    let iz = i32(oz * p.sd + kz) - i32(p.pd);
    let zok = iz >= 0 && iz < i32(p.in_d);
    let pb = cbase + u32(clamp(iz, 0, i32(p.in_d) - 1)) * p.in_h * p.in_w;
    for (var ky = 0u; ky < p.kh; ky++) {
      let iy = i32(oy * p.sh + ky) - i32(p.ph);
      let ok = zok && iy >= 0 && iy < i32(p.in_h);
      let rb = pb + u32(clamp(iy, 0, i32(p.in_h) - 1)) * p.in_w;
      for (var kx = 0u; kx < p.kw; kx++) {
        let ix = ix0 + i32(kx);
        let m = (ix >= vec4<i32>(0)) & (ix <= vec4<i32>(wl));
        let o = vec4<u32>(clamp(ix, vec4<i32>(0), vec4<i32>(wl))) + rb;
        let v = vec4<f32>(
          select(0.0, ld(k, o.x), ok && m.x),
          select(0.0, ld(k, o.y), ok && m.y),
          select(0.0, ld(k, o.z), ok && m.z),
          select(0.0, ld(k, o.w), ok && m.w),
        );
        var wv: array<vec4<f32>, C4>;
        for (var q = 0u; q < C4; q++) {
          wv[q] = w[wi + q];
        }
        wi += C4;
        // Nested loops of at most 4 iterations: unrolled, so every accumulator index is constant.
        for (var q = 0u; q < C4; q++) {
          for (var j = 0u; j < 4u; j++) {
            acc[4u * q + j] = fma(vec4<f32>(wv[q][j]), v, acc[4u * q + j]);
          }
        }
      }
    }
    kz++;
    if (kz == p.kd) {
      kz = 0u;
      ci++;
    }
  }
  if (!live) {
    return;
  }
  // Bias sits just before block b's first slice (read only by the first range).
  var bias: array<vec4<f32>, C4>;
  if (p.first == 1u) {
    let bb = p.w_base + b * p.w_block - C4;
    for (var q = 0u; q < C4; q++) {
      bias[q] = w[bb + q];
    }
  }
  emit_row(acc, bias, n, b, oz, oy, ox);
}
