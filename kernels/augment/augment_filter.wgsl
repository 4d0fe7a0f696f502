// augment_filter: the seed's image-only OneOf(GaussNoise, GaussianBlur,
// MotionBlur), clipped to [0, 1]; one invocation per pixel (b, y, x), looping
// over the D slices. Tiles without a filter are copied.
//
// Noise: v + sigma * z, z a standard normal from a counter-based hash of
// (seed, (d * T + y) * T + x) (Box-Muller on two 24-bit uniforms; ref.ts's
// gaussNoiseValue). Blur: correlation with the tile's k x k kernel
// (cv2.filter2D, anchor at the centre, BORDER_REFLECT_101).
//
// Table record words used: 0 flags (bits 8-9: 0 none, 1 noise, 2 kernel),
// 11 sigma (f32), 12 seed, 13 k, 18.. the k * k weights (f32, row-major).

struct Params {
  tiles: u32,
  tile0: u32,
  depth: u32,
  size: u32,
  stride: u32,
  x_base: u32,
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> table: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

const WEIGHTS = 18u;

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

// lowbias32 comes from kernels/hash.wgsl, prepended by the launcher.

fn gauss(seed: u32, index: u32) -> f32 {
  let h = lowbias32(seed);
  let a = lowbias32(lowbias32(h + 2u * index));
  let b = lowbias32(lowbias32(h + 2u * index + 1u));
  let u1 = (f32(a >> 8u) + 0.5) * (1.0 / 16777216.0);
  let u2 = f32(b >> 8u) * (1.0 / 16777216.0);
  return -sqrt(-2.0 * log(u1)) * cos(3.14159265358979 * (2.0 * u2 - 1.0));
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
  let t = (p.tile0 + b) * p.stride;
  let kind = (table[t] >> 8u) & 3u;
  let xin = p.x_base + b * p.depth * plane;
  let yout = p.y_base + b * p.depth * plane + e;

  if (kind == 1u) {
    let sigma = bitcast<f32>(table[t + 11u]);
    let seed = table[t + 12u];
    for (var d = 0u; d < p.depth; d++) {
      let v = x[xin + d * plane + e] + sigma * gauss(seed, d * plane + e);
      y[yout + d * plane] = clamp(v, 0.0, 1.0);
    }
  } else if (kind == 2u) {
    let k = table[t + 13u];
    let h = i32(k / 2u);
    let ni = i32(n);
    var rows: array<u32, 7>;
    var cols: array<u32, 7>;
    for (var j = 0u; j < k; j++) {
      rows[j] = u32(reflect101(i32(oy) + i32(j) - h, ni)) * n;
      cols[j] = u32(reflect101(i32(ox) + i32(j) - h, ni));
    }
    for (var d = 0u; d < p.depth; d++) {
      let base = xin + d * plane;
      var acc = 0.0;
      for (var r = 0u; r < k; r++) {
        for (var c = 0u; c < k; c++) {
          let w = bitcast<f32>(table[t + WEIGHTS + r * k + c]);
          if (w != 0.0) {
            acc += w * x[base + rows[r] + cols[c]];
          }
        }
      }
      y[yout + d * plane] = clamp(acc, 0.0, 1.0);
    }
  } else {
    for (var d = 0u; d < p.depth; d++) {
      y[yout + d * plane] = x[xin + d * plane + e];
    }
  }
}
