// transpose: y[b][c][r] = x[b][r][c] for a block of `rows` x `cols` of each
// of `items` matrices (x rows have stride ldx, y rows stride ldy; items are
// item_stride apart in both).
//
// Each invocation moves a 4 x 4 block through registers. On llvmpipe this
// beat one element per invocation and a 32 x 32 workgroup-memory tile (whose
// barrier and shared-memory traffic halved the bandwidth).

struct Params {
  rows: u32,
  cols: u32,
  items: u32,
  ldx: u32,
  ldy: u32,
  item_stride: u32,
  x_base: u32,
  y_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

// Four elements of row r from column c, clamped to the block.
fn load4(base: u32, r: u32, c: u32) -> vec4<f32> {
  let at = base + min(r, p.rows - 1u) * p.ldx;
  let last = p.cols - 1u;
  return vec4<f32>(x[at + min(c, last)], x[at + min(c + 1u, last)], x[at + min(c + 2u, last)], x[at + min(c + 3u, last)]);
}

// Writes v to y row c, columns r .. r + 3, skipping what lies past the block.
fn store4(base: u32, c: u32, r: u32, v: vec4<f32>) {
  if (c >= p.cols) {
    return;
  }
  let at = base + c * p.ldy + r;
  if (r + 3u < p.rows) {
    y[at] = v.x;
    y[at + 1u] = v.y;
    y[at + 2u] = v.z;
    y[at + 3u] = v.w;
    return;
  }
  for (var j = 0u; j < 4u; j++) {
    if (r + j < p.rows) {
      y[at + j] = v[j];
    }
  }
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * {{WG}}u;
  let cb = (p.cols + 3u) / 4u;
  let rb = (p.rows + 3u) / 4u;
  let item = i / (rb * cb);
  if (item >= p.items) {
    return;
  }
  let r = ((i / cb) % rb) * 4u;
  let c = (i % cb) * 4u;
  let xb = p.x_base + item * p.item_stride;
  let yb = p.y_base + item * p.item_stride;
  let a = load4(xb, r, c);
  let b = load4(xb, r + 1u, c);
  let d = load4(xb, r + 2u, c);
  let e = load4(xb, r + 3u, c);
  store4(yb, c, r, vec4<f32>(a.x, b.x, d.x, e.x));
  store4(yb, c + 1u, r, vec4<f32>(a.y, b.y, d.y, e.y));
  store4(yb, c + 2u, r, vec4<f32>(a.z, b.z, d.z, e.z));
  store4(yb, c + 3u, r, vec4<f32>(a.w, b.w, d.w, e.w));
}
