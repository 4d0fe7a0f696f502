// clip: the global gradient norm from the partial sums of squares, and
// PyTorch's clip_grad_norm_ factor min(1, max_norm / (norm + 1e-6)).
// scale[0] = factor, scale[1] = norm. One invocation.

struct Params {
  count: u32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> scale: array<f32>;

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < p.count; i++) {
    s += partials[i];
  }
  let norm = sqrt(s);
  scale[0] = min(1.0, p.max_norm / (norm + 1e-6));
  scale[1] = norm;
}
