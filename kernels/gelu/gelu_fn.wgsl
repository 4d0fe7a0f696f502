// Exact GELU, x · Phi(x) = 0.5 · x · (1 + erf(x / sqrt 2)), for kernels that
// fuse it (prepended to their source by the launcher).
//
// WGSL has no erf. Phi comes from erfc on |z| (Numerical Recipes' erfcc,
// fractional error < 1.2e-7 for every z >= 0): for x < 0, Phi(x) =
// erfc(|z|) / 2 keeps full relative accuracy in the tail; for x >= 0,
// Phi(x) = 1 - erfc(z) / 2.
fn gelu(x: f32) -> f32 {
  let z = abs(x) * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
    t * (-0.82215223 + t * 0.17087277))))))));
  let half_erfc = 0.5 * t * exp(poly - z * z);
  return x * select(1.0 - half_erfc, half_erfc, x < 0.0);
}

// The same on four values (one vec4 load and store in the elementwise kernel; the arithmetic is
// per component either way, since llvmpipe vectorises across invocations).
fn gelu4(x: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(gelu(x.x), gelu(x.y), gelu(x.z), gelu(x.w));
}
