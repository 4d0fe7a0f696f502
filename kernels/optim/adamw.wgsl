// adamw: one AdamW step (PyTorch's formula, decoupled weight decay) on a
// window of a parameter, with the gradient scaled by the clip factor
// scale[0]. Four elements per invocation.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i0 = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  let s = scale[0];
  for (var i = i0; i < min(i0 + 4u, p.n); i++) {
    let k = p.base + i;
    let grad = g[k] * s;
    let mk = p.beta1 * m[k] + (1.0 - p.beta1) * grad;
    let vk = p.beta2 * v[k] + (1.0 - p.beta2) * grad * grad;
    m[k] = mk;
    v[k] = vk;
    let denom = sqrt(vk) / p.bc2_sqrt + p.eps;
    w[k] = w[k] * p.decay - p.step_size * mk / denom;
  }
}
