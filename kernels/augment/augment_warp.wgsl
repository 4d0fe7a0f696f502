// augment_warp: the geometric passes of the seed's training augmentations,
// one invocation per output pixel (b, y, x), looping over the D image slices
// and the L label channels. Every tile reads its own record of the table.
//
// mode 0 (flips, rot90, brightness/contrast, channel dropout,
// shift-scale-rotate): the output pixel maps through the inverse affine
// matrix (when set) to a point of the flipped-and-rotated tile; each of its
// bilinear taps (BORDER_REFLECT_101) maps back through rot90 and the flips
// to an input pixel, and brightness/contrast (clipped) and dropout are
// applied to every tap before interpolation, which is exactly the seed's
// order (they act pixel-wise before the warp). Labels take the nearest tap
// (floor(s + 0.5), cv2.warpAffine's rounding), reflected too.
//
// mode 1 (grid distortion, coarse dropout): bilinear sampling at
// (map_x[x], map_y[y]) with reflect-101 taps; labels nearest rounding half
// to even (cv2.remap's); then the hole is zeroed in image and labels.
//
// Table record (32-bit words, `stride` per tile): 0 flags (bit 0 hflip,
// 1 vflip, 2-3 k, 4 brightness/contrast, 5 shift-scale-rotate, 6 grid,
// 7 hole, 8-9 filter), 1 alpha, 2 beta, 3-4 dropped slices (0xffffffff:
// none), 5-10 inverse affine (sx = a x + b y + c, sy = d x + e y + f),
// 14-17 hole x0, y0, x1, y1 (exclusive), 68.. map_x (T floats), map_y (T).

struct Params {
  tiles: u32,    // tiles in this dispatch
  tile0: u32,    // table index of the first one
  depth: u32,    // D image slices per tile
  labels: u32,   // L label channels per tile
  size: u32,     // T
  stride: u32,   // table words per tile
  mode: u32,     // 0 or 1, see above
  x_base: u32,   // element offset of the first tile in each window
  lx_base: u32,
  y_base: u32,
  ly_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> lx: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;
@group(0) @binding(5) var<storage, read_write> ly: array<f32>;

const MAPS = 68u;

fn reflect101(i: i32, n: i32) -> i32 {
  if (n == 1) {
    return 0;
  }
  let period = 2 * n - 2;
  var r = i % period;
  if (r < 0) {
    r += period;
  }
  if (r >= n) {
    r = period - r;
  }
  return r;
}

fn word_f32(t: u32, i: u32) -> f32 {
  return bitcast<f32>(table[t + i]);
}

// Input pixel (plane offset) of pixel (r, c) of the flipped-then-rotated tile.
fn unrotate(flags: u32, r: i32, c: i32, n: i32) -> u32 {
  let k = (flags >> 2u) & 3u;
  var fr = r;
  var fc = c;
  if (k == 1u) {
    fr = c;
    fc = n - 1 - r;
  } else if (k == 2u) {
    fr = n - 1 - r;
    fc = n - 1 - c;
  } else if (k == 3u) {
    fr = n - 1 - c;
    fc = r;
  }
  if ((flags & 2u) != 0u) {
    fr = n - 1 - fr;
  }
  if ((flags & 1u) != 0u) {
    fc = n - 1 - fc;
  }
  return u32(fr * n + fc);
}

struct Pointwise {
  bc: bool,
  alpha: f32,
  beta: f32,
  drop0: u32,
  drop1: u32,
}

// Brightness/contrast then channel dropout, on one input value of slice d.
fn pointwise(q: Pointwise, v: f32, d: u32) -> f32 {
  if (d == q.drop0 || d == q.drop1) {
    return 0.0;
  }
  if (q.bc) {
    return clamp(v * q.alpha + q.beta, 0.0, 1.0);
  }
  return v;
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let n = p.size;
  let plane = n * n;
  if (i >= p.tiles * plane) {
    return;
  }
  let b = i / plane;
  let e = i % plane;
  let oy = e / n;
  let ox = e % n;
  let ni = i32(n);
  let t = (p.tile0 + b) * p.stride;
  let flags = table[t];
  let xin = p.x_base + b * p.depth * plane;
  let lin = p.lx_base + b * p.labels * plane;
  let yout = p.y_base + b * p.depth * plane + e;
  let lout = p.ly_base + b * p.labels * plane + e;

  // Sampling point in the pass's source frame, and whether to interpolate.
  var warp = false;
  var sx = 0.0;
  var sy = 0.0;
  if (p.mode == 0u && (flags & 32u) != 0u) {
    warp = true;
    let fx = f32(ox);
    let fy = f32(oy);
    sx = word_f32(t, 5u) * fx + word_f32(t, 6u) * fy + word_f32(t, 7u);
    sy = word_f32(t, 8u) * fx + word_f32(t, 9u) * fy + word_f32(t, 10u);
  } else if (p.mode == 1u && (flags & 64u) != 0u) {
    warp = true;
    sx = word_f32(t, MAPS + ox);
    sy = word_f32(t, MAPS + n + oy);
  }
  let rot = select(0u, flags, p.mode == 0u); // mode 1 reads its source as is
  var q = Pointwise(false, 1.0, 0.0, 0xffffffffu, 0xffffffffu);
  if (p.mode == 0u) {
    q = Pointwise((flags & 16u) != 0u, word_f32(t, 1u), word_f32(t, 2u), table[t + 3u], table[t + 4u]);
  }
  var hole = false;
  if (p.mode == 1u && (flags & 128u) != 0u) {
    hole = ox >= table[t + 14u] && oy >= table[t + 15u] && ox < table[t + 16u] &&
      oy < table[t + 17u];
  }

  if (hole) {
    for (var d = 0u; d < p.depth; d++) {
      y[yout + d * plane] = 0.0;
    }
    for (var l = 0u; l < p.labels; l++) {
      ly[lout + l * plane] = 0.0;
    }
    return;
  }

  if (!warp) {
    let o = unrotate(rot, i32(oy), i32(ox), ni);
    for (var d = 0u; d < p.depth; d++) {
      y[yout + d * plane] = pointwise(q, x[xin + d * plane + o], d);
    }
    for (var l = 0u; l < p.labels; l++) {
      ly[lout + l * plane] = lx[lin + l * plane + o];
    }
    return;
  }

  let x0f = floor(sx);
  let y0f = floor(sy);
  let wx = sx - x0f;
  let wy = sy - y0f;
  let x0 = i32(x0f);
  let y0 = i32(y0f);
  let c0 = reflect101(x0, ni);
  let c1 = reflect101(x0 + 1, ni);
  let r0 = reflect101(y0, ni);
  let r1 = reflect101(y0 + 1, ni);
  let o00 = unrotate(rot, r0, c0, ni);
  let o01 = unrotate(rot, r0, c1, ni);
  let o10 = unrotate(rot, r1, c0, ni);
  let o11 = unrotate(rot, r1, c1, ni);
  for (var d = 0u; d < p.depth; d++) {
    let base = xin + d * plane;
    let v00 = pointwise(q, x[base + o00], d);
    let v01 = pointwise(q, x[base + o01], d);
    let v10 = pointwise(q, x[base + o10], d);
    let v11 = pointwise(q, x[base + o11], d);
    y[yout + d * plane] = (1.0 - wy) * ((1.0 - wx) * v00 + wx * v01) +
      wy * ((1.0 - wx) * v10 + wx * v11);
  }

  // Labels: nearest. warpAffine rounds half up, remap half to even.
  var nx = 0.0;
  var ny = 0.0;
  if (p.mode == 0u) {
    nx = floor(sx + 0.5);
    ny = floor(sy + 0.5);
  } else {
    nx = round(sx);
    ny = round(sy);
  }
  let on = unrotate(rot, reflect101(i32(ny), ni), reflect101(i32(nx), ni), ni);
  for (var l = 0u; l < p.labels; l++) {
    ly[lout + l * plane] = lx[lin + l * plane + on];
  }
}
