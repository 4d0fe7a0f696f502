// attention_backward_dkv: per key j, with p_ij = exp2(s_ij - lse_i)
// (s in the log2 domain), dp_ij = dout_i·v_j and ds_ij = p_ij (dp_ij - D_i):
//   dv_j = sum_i p_ij dout_i,   dk_j = scale · sum_i ds_ij q_i.
// Each invocation owns 4 keys of one (batch item, head): their scaled keys,
// values and both accumulators stay in registers, and every query row,
// upstream gradient row and (lse, D) pair loaded serves 4 keys. Keys past
// Tk are clamped (duplicates store the same values to the same place).
//
// When there are few keys (SegFormer's reduced keys: 4096 queries over 64
// keys), the queries are split into chunks so that more invocations run:
// split s sums queries [s · chunk, (s + 1) · chunk) into its own
// (B, Tk, C) slice of dk and dv, and the launcher sums the slices.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dk: array<f32>;
@group(0) @binding(7) var<storage, read_write> dv: array<f32>;

fn ld4(buf: u32, at: u32) -> vec4<f32> {
  if (buf == 0u) {
    return vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
  } else if (buf == 1u) {
    return vec4<f32>(k[at], k[at + 1u], k[at + 2u], k[at + 3u]);
  } else if (buf == 2u) {
    return vec4<f32>(v[at], v[at + 1u], v[at + 2u], v[at + 3u]);
  }
  return vec4<f32>(dout[at], dout[at + 1u], dout[at + 2u], dout[at + 3u]);
}

fn st4(buf: u32, at: u32, x: vec4<f32>) {
  if (buf == 0u) {
    dk[at] = x.x;
    dk[at + 1u] = x.y;
    dk[at + 2u] = x.z;
    dk[at + 3u] = x.w;
  } else {
    dv[at] = x.x;
    dv[at + 1u] = x.y;
    dv[at + 2u] = x.z;
    dv[at + 3u] = x.w;
  }
}

// One key: scaled key, value and the dk, dv accumulators.
struct Key {
  ks: Head,
  val: Head,
  dk: Head,
  dv: Head,
}

fn start(item: u32, j: u32, h: u32) -> Key {
  let at = k_row(item, j, h);
  let x = load_head(1u, at);
  return Key(axpby(p.scale2, x, 0.0, x), load_head(2u, at), zero_head(), zero_head());
}

fn step(r: Key, qi: Head, g: Head, ld: vec2<f32>) -> Key {
  let pr = exp2(dot_head(qi, r.ks) - ld.x);
  let ds = pr * (dot_head(g, r.val) - ld.y);
  return Key(r.ks, r.val, axpby(1.0, r.dk, ds, qi), axpby(1.0, r.dv, pr, g));
}

fn finish(split: u32, item: u32, j: u32, h: u32, r: Key) {
  let at = split * p.items * p.tk * p.c + k_row(item, j, h);
  store_head(0u, at, axpby(p.scale, r.dk, 0.0, r.dk));
  store_head(1u, at, r.dv);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let blocks = (p.tk + 3u) / 4u;
  let per_split = blocks * p.heads * p.items;
  let split = i / per_split;
  let t0 = split * p.chunk;
  if (t0 >= p.tq) {
    return;
  }
  let t1 = min(t0 + p.chunk, p.tq);
  let h = (i / blocks) % p.heads;
  let item = (i % per_split) / (blocks * p.heads);
  let j = (i % blocks) * 4u;
  var r0 = start(item, j, h);
  var r1 = start(item, j + 1u, h);
  var r2 = start(item, j + 2u, h);
  var r3 = start(item, j + 3u, h);
  for (var t = t0; t < t1; t++) {
    let at = q_row(item, t, h);
    let qi = load_head(0u, at);
    let g = load_head(3u, at);
    let s = stat_at(item, t, h);
    let ld = vec2<f32>(stats[s], stats[s + 1u]);
    r0 = step(r0, qi, g, ld);
    r1 = step(r1, qi, g, ld);
    r2 = step(r2, qi, g, ld);
    r3 = step(r3, qi, g, ld);
  }
  finish(split, item, j, h, r0);
  finish(split, item, j + 1u, h, r1);
  finish(split, item, j + 2u, h, r2);
  finish(split, item, j + 3u, h, r3);
}
