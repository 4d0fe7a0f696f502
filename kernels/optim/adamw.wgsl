// adamw: one AdamW step (PyTorch's formula, decoupled weight decay) on a
// window of a parameter, with the gradient multiplied by state[0] (the clip
// factor, and 1 / loss scale under a dynamic loss scale). A step the loss
// scale skipped (state[4] = 1) changes nothing; after skipped steps
// (state[5]), the bias corrections count only the steps taken, as PyTorch's
// step count does when GradScaler skips optimizer.step(). Four elements per
// invocation.

struct Params {
  n: u32,
  base: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay: f32,      // 1 - lr · weight_decay
  step_size: f32,  // lr / (1 - beta1^t)
  bc2_sqrt: f32,   // sqrt(1 - beta2^t)
  t: f32,          // steps recorded, skipped ones included
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> state: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  if (state[4] != 0.0) {
    return;
  }
  let s = state[0];
  var step_size = p.step_size;
  var bc2_sqrt = p.bc2_sqrt;
  if (state[5] > 0.0) {
    let t = p.t - state[5];
    step_size = p.lr / (1.0 - pow(p.beta1, t));
    bc2_sqrt = sqrt(1.0 - pow(p.beta2, t));
  }
  for (var i = i0; i < min(i0 + 4u, p.n); i++) {
    let k = p.base + i;
    let grad = g[k] * s;
    let mk = p.beta1 * m[k] + (1.0 - p.beta1) * grad;
    let vk = p.beta2 * v[k] + (1.0 - p.beta2) * grad * grad;
    m[k] = mk;
    v[k] = vk;
    let denom = sqrt(vk) / bc2_sqrt + p.eps;
    w[k] = w[k] * p.decay - step_size * mk / denom;
  }
}
