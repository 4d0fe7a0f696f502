/**
 * Plain TypeScript reference for `gelu`: exact GELU from a float64 erf
 * accurate to about 1e-15 (Taylor series below 2, continued fraction above).
 *
 * @module
 */

/** erfc(z) for z >= 0, about 1e-15 relative. */
function erfcPos(z: number): number {
  if (z < 2) {
    // erf by its Taylor series: 2/sqrt(pi) * sum (-1)^n z^(2n+1) / (n! (2n+1)).
    let term = z;
    let sum = z;
    for (let n = 1; n < 100; n++) {
      term *= -z * z / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  // Continued fraction: erfc(z) = exp(-z^2)/sqrt(pi) / (z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))).
  let f = z;
  for (let k = 120; k >= 1; k--) f = z + (k / 2) / f;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / f;
}

/** erf(x) in float64. */
export function erfRef(x: number): number {
  return x < 0 ? erfcPos(-x) - 1 : 1 - erfcPos(x);
}

/** Exact GELU, x * Phi(x), computed from erfc so the negative tail keeps its relative accuracy. */
export function geluRef(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const halfErfc = 0.5 * erfcPos(z);
  return x * (x < 0 ? halfErfc : 1 - halfErfc);
}

/** dy · gelu'(x) with gelu'(x) = Phi(x) + x · phi(x), in float64. */
export function geluBackwardRef(x: Float32Array, dy: Float32Array): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const halfErfc = 0.5 * erfcPos(Math.abs(v) / Math.SQRT2);
    const cdf = v < 0 ? halfErfc : 1 - halfErfc;
    return dy[i] * (cdf + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI));
  });
}
