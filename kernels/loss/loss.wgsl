// The seed's training loss on logits z and targets t, both (B, L, P) with
// P = H·W pixels per plane: 0.5 · BCE-with-logits (mean over every element)
// + 0.5 · soft Dice (smp, from logits: per channel over (batch, pixels),
// dice = 2 Σpt / max(Σp + Σt, 1e-7), zeroed when the channel has no positive
// pixel, mean over the L channels).
//
// With `masked` (one channel), t holds 0 outside the papyrus mask, 1 for
// papyrus without ink and 2 for ink: pixels outside the mask have weight 0 in
// both terms (the BCE is the mean over mask pixels, the Dice sums run over
// them), the recipe change `loss_mask` of the training stage.
//
// Three entry points run in order on one recorder:
//   partials: invocation (b, c, j) sums chunk j of plane (b, c) into
//             part[5·inv ..]: Σ p·t, Σ p, Σ t, Σ bce, Σ weight;
//   totals:   invocation c reduces its channel's partials into tot[5·c ..];
//   grad:     dL/dz elementwise; invocation 0 also writes the loss value to
//             loss[p.loss_index].

struct Params {
  batch: u32,
  channels: u32,
  plane: u32,        // pixels per (b, c) plane
  chunks: u32,       // chunks per plane
  chunk: u32,        // pixels per chunk
  loss_index: u32,
  bce_weight: f32,
  dice_weight: f32,
  masked: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> t: array<f32>;
@group(0) @binding(3) var<storage, read_write> part: array<f32>;
@group(0) @binding(4) var<storage, read_write> tot: array<f32>;
@group(0) @binding(5) var<storage, read_write> g: array<f32>;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;

fn flat(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * {{WG}}u;
}

// Every entry point binds every buffer (one bind group for all three with the
// "auto" layout), so each one references them all.
fn use_all() {
  _ = z[0];
  _ = t[0];
  _ = part[0];
  _ = tot[0];
  _ = g[0];
  _ = loss[0];
}

// (target, weight) of element i.
fn label_of(i: u32) -> vec2<f32> {
  let v = t[i];
  if (p.masked == 1u) {
    return vec2<f32>(select(0.0, 1.0, v > 1.5), select(0.0, 1.0, v > 0.5));
  }
  return vec2<f32>(v, 1.0);
}

fn sigmoid(x: f32) -> f32 {
  // exp of a non-positive argument only, so no overflow.
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

@compute @workgroup_size({{WG}})
fn partials(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  use_all();
  let inv = flat(gid, nwg);
  if (inv >= p.batch * p.channels * p.chunks) {
    return;
  }
  let plane = inv / p.chunks; // b · channels + c
  let j = inv % p.chunks;
  let start = plane * p.plane + j * p.chunk;
  let end = plane * p.plane + min(p.plane, (j + 1u) * p.chunk);
  var spt = 0.0;
  var sp = 0.0;
  var st = 0.0;
  var sb = 0.0;
  var sw = 0.0;
  for (var i = start; i < end; i++) {
    let x = z[i];
    let yw = label_of(i);
    let y = yw.x;
    let w = yw.y;
    let s = sigmoid(x);
    spt += w * s * y;
    sp += w * s;
    st += w * y;
    sb += w * (max(x, 0.0) - x * y + log(1.0 + exp(-abs(x))));
    sw += w;
  }
  part[5u * inv] = spt;
  part[5u * inv + 1u] = sp;
  part[5u * inv + 2u] = st;
  part[5u * inv + 3u] = sb;
  part[5u * inv + 4u] = sw;
}

@compute @workgroup_size({{WG}})
fn totals(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  use_all();
  let c = flat(gid, nwg);
  if (c >= p.channels) {
    return;
  }
  var acc = vec4<f32>(0.0);
  var w = 0.0;
  for (var b = 0u; b < p.batch; b++) {
    let first = (b * p.channels + c) * p.chunks;
    for (var j = 0u; j < p.chunks; j++) {
      let k = 5u * (first + j);
      acc += vec4<f32>(part[k], part[k + 1u], part[k + 2u], part[k + 3u]);
      w += part[k + 4u];
    }
  }
  tot[5u * c] = acc.x;
  tot[5u * c + 1u] = acc.y;
  tot[5u * c + 2u] = acc.z;
  tot[5u * c + 3u] = acc.w;
  tot[5u * c + 4u] = w;
}

// Elements the BCE mean runs over: all, or (masked) the mask's pixels, at least 1.
fn bce_count() -> f32 {
  if (p.masked == 1u) {
    return max(tot[4u], 1.0);
  }
  return f32(p.batch * p.channels * p.plane);
}

@compute @workgroup_size({{WG}})
fn grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  use_all();
  let i = flat(gid, nwg);
  let n = p.batch * p.channels * p.plane;
  let count = bce_count();
  let channels = f32(p.channels);
  if (i == 0u) {
    var bce = 0.0;
    var dice = 0.0;
    for (var c = 0u; c < p.channels; c++) {
      bce += tot[5u * c + 3u];
      let st = tot[5u * c + 2u];
      if (st > 0.0) {
        dice += 1.0 - 2.0 * tot[5u * c] / max(tot[5u * c + 1u] + st, 1e-7);
      }
    }
    loss[p.loss_index] = p.bce_weight * bce / count + p.dice_weight * dice / channels;
  }
  if (i >= n) {
    return;
  }
  let c = (i / p.plane) % p.channels;
  let x = z[i];
  let yw = label_of(i);
  let y = yw.x;
  let w = yw.y;
  let s = sigmoid(x);
  var d = w * p.bce_weight * (s - y) / count;
  let st = tot[5u * c + 2u];
  let den = tot[5u * c + 1u] + st;
  if (st > 0.0 && den > 1e-7) {
    let inter = tot[5u * c];
    let ddice = -2.0 * w * (y * den - inter) / (den * den); // d(1 - dice)/dp
    d += p.dice_weight / channels * ddice * s * (1.0 - s);
  }
  g[i] = d;
}
