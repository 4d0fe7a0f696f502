// clip: the global gradient norm from the partial sums of squares, PyTorch's clip_grad_norm_
// factor min(1, max_norm / (norm + 1e-6)), and, with a dynamic loss scale, torch.amp's
// GradScaler: gradients arrive multiplied by the loss scale S, so the norm is sqrt(sum) / S and
// the factor the update applies includes 1 / S; a non-finite sum skips the step and halves S,
// and `growth_interval` finite steps in a row double it. One invocation.
//
// state: [0] factor the update multiplies gradients by, [1] unscaled norm, [2] loss scale S,
// [3] finite steps since S last changed, [4] 1 when this step is skipped, [5] steps skipped.

struct Params {
  count: u32,
  max_norm: f32,  // clip when positive
  dynamic: u32,   // 1: dynamic loss scale
  growth_interval: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> state: array<f32>;

// inf and NaN by their bits (a compiler may assume finite floats in comparisons).
fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var i = 0u; i < p.count; i++) {
    s += partials[i];
  }
  let ls = state[2];
  let norm = sqrt(s) / ls;
  var factor = 1.0;
  if (p.max_norm > 0.0) {
    factor = min(1.0, p.max_norm / (norm + 1e-6));
  }
  state[1] = norm;
  if (p.dynamic == 1u) {
    if (!finite(s)) {
      state[0] = 0.0;
      state[2] = ls * 0.5;
      state[3] = 0.0;
      state[4] = 1.0;
      state[5] += 1.0;
      return;
    }
    state[4] = 0.0;
    factor /= ls;
    let good = state[3] + 1.0;
    if (good >= p.growth_interval) {
      state[2] = ls * 2.0;
      state[3] = 0.0;
    } else {
      state[3] = good;
    }
  }
  state[0] = factor;
}
