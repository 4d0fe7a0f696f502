// attention_backward_dq: per query i, with p_ij = exp2(s_ij - lse_i)
// (s in the log2 domain), dp_ij = dout_i·v_j and ds_ij = p_ij (dp_ij - D_i):
//   dq_i = scale · sum_j ds_ij k_j.
// Each invocation owns 4 queries of one (batch item, head): their scaled
// queries, upstream gradients and accumulators stay in registers, and
// every key and value row loaded serves 4 queries. Queries past Tq are
// clamped (duplicates store the same values to the same place).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> stats: array<f32>;
@group(0) @binding(6) var<storage, read_write> dq: array<f32>;

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
  dq[at] = x.x;
  dq[at + 1u] = x.y;
  dq[at + 2u] = x.z;
  dq[at + 3u] = x.w;
}

// One query: scaled q, dout, (lse, D) and the dq accumulator.
struct Query {
  qs: Head,
  g: Head,
  ld: vec2<f32>,
  acc: Head,
}

fn start(item: u32, t: u32, h: u32) -> Query {
  let at = q_row(item, t, h);
  let x = load_head(0u, at);
  let s = stat_at(item, t, h);
  return Query(
    axpby(p.scale2, x, 0.0, x),
    load_head(3u, at),
    vec2<f32>(stats[s], stats[s + 1u]),
    zero_head(),
  );
}

fn step(r: Query, key: Head, val: Head) -> Query {
  let pr = exp2(dot_head(r.qs, key) - r.ld.x);
  let ds = pr * (dot_head(r.g, val) - r.ld.y);
  return Query(r.qs, r.g, r.ld, axpby(1.0, r.acc, ds, key));
}

fn finish(item: u32, t: u32, h: u32, r: Query) {
  store_head(0u, q_row(item, t, h), axpby(p.scale, r.acc, 0.0, r.acc));
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let blocks = (p.tq + 3u) / 4u;
  let h = (i / blocks) % p.heads;
  let item = i / (blocks * p.heads);
  if (item >= p.items) {
    return;
  }
  let t = (i % blocks) * 4u;
  var r0 = start(item, t, h);
  var r1 = start(item, t + 1u, h);
  var r2 = start(item, t + 2u, h);
  var r3 = start(item, t + 3u, h);
  for (var j = 0u; j < p.tk; j++) {
    let at = k_row(item, j, h);
    let key = load_head(1u, at);
    let val = load_head(2u, at);
    r0 = step(r0, key, val);
    r1 = step(r1, key, val);
    r2 = step(r2, key, val);
    r3 = step(r3, key, val);
  }
  finish(item, t, h, r0);
  finish(item, t + 1u, h, r1);
  finish(item, t + 2u, h, r2);
  finish(item, t + 3u, h, r3);
}
