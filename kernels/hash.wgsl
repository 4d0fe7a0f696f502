// lowbias32 (Chris Wellons), as kernels/hash.ts.
fn lowbias32(v0: u32) -> u32 {
  var v = v0;
  v ^= v >> 16u;
  v *= 0x7feb352du;
  v ^= v >> 15u;
  v *= 0x846ca68bu;
  v ^= v >> 16u;
  return v;
}
