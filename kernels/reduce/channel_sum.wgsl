// channel_sum: per-channel sums of x viewed as (outer, channels, inner), over
// outer and inner (bias gradients). The flat reduction index m = o * inner +
// i is cut into `parts` chunks of `chunk` elements; invocation (part, c)
// sums chunk `part` of channel c sequentially and writes out[part, c]. The
// launcher reduces the (parts, channels) partial sums with a second pass of
// this kernel (outer = parts, inner = 1) until one part remains.
//
// Channels vary fastest over invocations, so neighbours read neighbouring
// elements when inner = 1 (linear rows).

struct Params {
  outer: u32,
  channels: u32,
  inner: u32,
  m: u32,         // outer * inner
  chunk: u32,     // elements of one part
  parts: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let c = i % p.channels;
  let part = i / p.channels;
  if (part >= p.parts) {
    return;
  }
  let m0 = part * p.chunk;
  let m1 = min(p.m, m0 + p.chunk);
  var o = m0 / p.inner;
  var j = m0 % p.inner;
  var m = m0;
  // Two accumulators (even and odd elements) halve the rounding chain.
  var a0 = 0.0;
  var a1 = 0.0;
  loop {
    if (m >= m1) {
      break;
    }
    let len = min(p.inner - j, m1 - m);
    let base = (o * p.channels + c) * p.inner + j;
    var k = 0u;
    for (; k + 1u < len; k += 2u) {
      a0 += x[base + k];
      a1 += x[base + k + 1u];
    }
    if (k < len) {
      a0 += x[base + k];
    }
    m += len;
    o += 1u;
    j = 0u;
  }
  y[part * p.channels + c] = a0 + a1;
}
