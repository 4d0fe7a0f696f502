// attention_backward_stats: per query, the log2-domain logsumexp of its
// scaled scores and D = dout·out, for the dq and dk/dv kernels. out is
// read when given (OUT_GIVEN 1: one pass over the keys only) or recomputed
// with the forward's online softmax (OUT_GIVEN 0; `o` is then a dummy
// binding never read).
//
// Each invocation owns 4 queries of one (batch item, head); every key (and
// value) row loaded serves 4 queries. Queries past Tq are clamped: they
// duplicate the last query and store the same values to the same place.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> o: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;

const OUT_GIVEN: bool = {{OUT_GIVEN}} == 1;

fn ld4(buf: u32, at: u32) -> vec4<f32> {
  if (buf == 0u) {
    return vec4<f32>(q[at], q[at + 1u], q[at + 2u], q[at + 3u]);
  } else if (buf == 1u) {
    return vec4<f32>(k[at], k[at + 1u], k[at + 2u], k[at + 3u]);
  } else if (buf == 2u) {
    return vec4<f32>(v[at], v[at + 1u], v[at + 2u], v[at + 3u]);
  } else if (buf == 3u) {
    return vec4<f32>(dout[at], dout[at + 1u], dout[at + 2u], dout[at + 3u]);
  }
  return vec4<f32>(o[at], o[at + 1u], o[at + 2u], o[at + 3u]);
}

fn st4(buf: u32, at: u32, x: vec4<f32>) {
}

// Running state of one query: max, sum, output accumulator (log2 domain).
struct Row {
  m: f32,
  l: f32,
  acc: Head,
}

fn step(r: Row, s: f32, val: Head) -> Row {
  let m = max(r.m, s);
  let corr = exp2(r.m - m);
  let e = exp2(s - m);
  if (OUT_GIVEN) {
    return Row(m, r.l * corr + e, r.acc);
  }
  return Row(m, r.l * corr + e, axpby(corr, r.acc, e, val));
}

fn load_q(item: u32, t: u32, h: u32) -> Head {
  let x = load_head(0u, q_row(item, t, h));
  return axpby(p.scale2, x, 0.0, x);
}

fn finish(item: u32, t: u32, h: u32, r: Row) {
  let at = q_row(item, t, h);
  var out: Head;
  if (OUT_GIVEN) {
    out = load_head(4u, at);
  } else {
    out = axpby(1.0 / r.l, r.acc, 0.0, r.acc);
  }
  let s = stat_at(item, t, h);
  stats[s] = r.m + log2(r.l);
  stats[s + 1u] = dot_head(load_head(3u, at), out);
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
  let q0 = load_q(item, t, h);
  let q1 = load_q(item, t + 1u, h);
  let q2 = load_q(item, t + 2u, h);
  let q3 = load_q(item, t + 3u, h);
  // A finite "minus infinity": exp2(-3e38 - s) is 0, never NaN.
  var r0 = Row(-3.0e38, 0.0, zero_head());
  var r1 = r0;
  var r2 = r0;
  var r3 = r0;
  for (var j = 0u; j < p.tk; j++) {
    let at = k_row(item, j, h);
    let key = load_head(1u, at);
    var val = key;
    if (!OUT_GIVEN) {
      val = load_head(2u, at);
    }
    r0 = step(r0, dot_head(q0, key), val);
    r1 = step(r1, dot_head(q1, key), val);
    r2 = step(r2, dot_head(q2, key), val);
    r3 = step(r3, dot_head(q3, key), val);
  }
  finish(item, t, h, r0);
  finish(item, t + 1u, h, r1);
  finish(item, t + 2u, h, r2);
  finish(item, t + 3u, h, r3);
}
