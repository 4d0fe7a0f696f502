/**
 * Checkpoint I/O: PyTorch `torch.save` files (zip format) and safetensors,
 * read lazily and without executing anything in the pickle; writers for
 * both; key helpers for strict loading; and detection of the seed's model
 * families.
 *
 * @example
 * ```ts ignore
 * import { checkKeys, detectFamily, loadCheckpoint, selectPrefix, stripPrefix } from "./mod.ts";
 * const dict = stripPrefix(await loadCheckpoint("cnn3d_final_swa.pth"));
 * console.log(detectFamily(dict)); // { family: "cnn3d", segformer: { variant: "b3", ... } }
 * const conv = selectPrefix(dict, "conv3d_1");
 * checkKeys(conv, new Map([["weight", [4, 1, 3, 3, 3]], ["bias", [4]]]), "conv3d_1");
 * const weight = await conv.get("weight")!.data(); // Float32Array
 * ```
 *
 * @module
 */

export {
  detectFamily,
  type FamilyInfo,
  type SeedFamily,
  type SegformerInfo,
  type SegformerVariant,
  type Shapes,
} from "./family.ts";
export { checkKeys, selectPrefix, stripPrefix } from "./keys.ts";
export { loadCheckpoint } from "./load.ts";
export { readPth, writePth } from "./pth.ts";
export { readSafetensors, writeSafetensors, type WriteSafetensorsOptions } from "./safetensors.ts";
export {
  type CheckpointTensor,
  type Dtype,
  DTYPE_SIZE,
  formatShape,
  type RawArray,
  StateDict,
  tensorFrom,
  type TensorInit,
  toFloat32,
} from "./tensor.ts";
