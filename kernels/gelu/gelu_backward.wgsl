// gelu_backward: dx = dy · gelu'(x), gelu'(x) = Phi(x) + x · phi(x) (exact
// erf form). Phi comes from erfc on |z| as in gelu_fn.wgsl (Numerical
// Recipes' erfcc, fractional error < 1.2e-7), so the negative tail keeps
// its relative accuracy. Each invocation handles 4 consecutive elements.

struct Params {
  n: u32,       // elements in this window
  x_base: u32,
  dy_base: u32,
  dx_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn gelu_grad(x: f32) -> f32 {
  let z = abs(x) * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  let half_erfc = 0.5 * t * exp(poly - z * z);
  let cdf = select(1.0 - half_erfc, half_erfc, x < 0.0);
  // phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
  return cdf + x * 0.39894228040143268 * exp(-0.5 * x * x);
}

@compute @workgroup_size({{WG}})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = (gid.x + gid.y * nwg.x * {{WG}}u) * 4u;
  for (var j = i; j < min(i + 4u, p.n); j++) {
    dx[p.dx_base + j] = dy[p.dy_base + j] * gelu_grad(x[p.x_base + j]);
  }
}
