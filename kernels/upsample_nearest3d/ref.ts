/**
 * Plain TypeScript reference for `upsample_nearest3d`, following ATen's
 * `nearest_idx`: float32 scale in / out, floor, clamp to in - 1.
 *
 * @module
 */

/** ATen's source index for output index `dst` along an axis of `inSize` -> `outSize`. */
export function nearestIndex(dst: number, inSize: number, outSize: number): number {
  if (outSize === inSize) return dst;
  if (outSize === 2 * inSize) return dst >> 1;
  const scale = Math.fround(inSize / outSize);
  return Math.min(Math.floor(Math.fround(dst * scale)), inSize - 1);
}

/** Resizes (N, C, D, H, W) values to (N, C, ...size) by nearest neighbour. */
export function upsampleNearest3dRef(
  x: Float32Array,
  shape: readonly number[],
  size: readonly [number, number, number],
): Float32Array {
  const [n, c, d, h, w] = shape;
  const [od, oh, ow] = size;
  const y = new Float32Array(n * c * od * oh * ow);
  let at = 0;
  for (let p = 0; p < n * c; p++) {
    for (let z = 0; z < od; z++) {
      const iz = nearestIndex(z, d, od);
      for (let r = 0; r < oh; r++) {
        const iy = nearestIndex(r, h, oh);
        for (let q = 0; q < ow; q++) {
          y[at++] = x[((p * d + iz) * h + iy) * w + nearestIndex(q, w, ow)];
        }
      }
    }
  }
  return y;
}

/** Gradient of the resize: each dy (N, C, ...size) summed into the input cell it copies. */
export function upsampleNearest3dBackwardRef(
  dy: Float32Array,
  inputShape: readonly number[],
  size: readonly [number, number, number],
): Float32Array {
  const [n, c, d, h, w] = inputShape;
  const [od, oh, ow] = size;
  const dx = new Float64Array(n * c * d * h * w);
  let at = 0;
  for (let p = 0; p < n * c; p++) {
    for (let z = 0; z < od; z++) {
      const iz = nearestIndex(z, d, od);
      for (let r = 0; r < oh; r++) {
        const iy = nearestIndex(r, h, oh);
        for (let q = 0; q < ow; q++) {
          dx[((p * d + iz) * h + iy) * w + nearestIndex(q, w, ow)] += dy[at++];
        }
      }
    }
  }
  return new Float32Array(dx);
}
