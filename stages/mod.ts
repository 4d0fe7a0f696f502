/**
 * Every stage of the project, registered by name in the default registry.
 * This table is the one place a stage becomes visible to pipelines.
 *
 * @module
 */

import { registry } from "./registry.ts";
import { blend } from "./blend.ts";
import { flattenDepth } from "./flatten_depth.ts";
import { readVolume } from "./read_volume.ts";
import { syntheticFragment } from "./synthetic_fragment.ts";
import { tileCrop } from "./tile_crop.ts";
import { writePng } from "./write_png.ts";
import { writeVolume } from "./write_volume.ts";
import { writeMap } from "./write_map.ts";
import { ensemble } from "./ensemble.ts";
import { evaluate, postprocess, writeOutputs } from "./postprocess.ts";
import { encode3d, network, segment2d } from "./network.ts";
import { ttaExpand, ttaMerge } from "./tta.ts";
import { trainStage } from "./train.ts";

registry.register(readVolume);
registry.register(syntheticFragment);
registry.register(tileCrop);
registry.register(flattenDepth);
registry.register(blend);
registry.register(writePng);
registry.register(writeVolume);
registry.register(writeMap);
registry.register(ensemble);
registry.register(postprocess);
registry.register(writeOutputs);
registry.register(evaluate);
registry.register(encode3d);
registry.register(segment2d);
registry.register(network);
registry.register(ttaExpand);
registry.register(ttaMerge);
registry.register(trainStage);

export { registry };
export type * from "./types.ts";
