import assert from "node:assert/strict";
import { isCounter } from "./params.ts";
import { memberConfig, memberSpec } from "./families.ts";
import { segformerConfig } from "./segformer_config.ts";
import { cnn3dSpec, segformerSpec, unet3dSpec } from "./specs.ts";

// Every number below is from seed-spec sections 2 and 6, computed there with the seed's own classes.
// Its parameter counts are float state-dict entries: BatchNorm running stats count, the counter not.

Deno.test("3D encoders have the seed's parameter counts", () => {
  assert.equal(cnn3dSpec(32).count(), 18_312);
  const unet = { in_channels: 1, f_maps: 8, num_groups: 4, num_levels: 4 };
  assert.equal(unet3dSpec({ ...unet, out_channels: 16 }).count(), 255_814);
  assert.equal(unet3dSpec({ ...unet, out_channels: 32 }).count(), 255_958);
});

Deno.test("MiT presets have the seed's parameter counts", () => {
  const count = (preset: string, labels: number) =>
    segformerSpec(segformerConfig(preset, { num_channels: 32, num_labels: labels })).count(
      isCounter,
    );
  assert.equal(count("mit-b3", 1), 47_315_713);
  assert.equal(count("mit-b5", 1), 84_686_593);
  assert.equal(count("mit-b5", 3), 84_688_131);
});

Deno.test("whole members have the seed's key and parameter counts", () => {
  const keys = (family: string, segformer?: string) =>
    memberSpec(memberConfig(family, { segformer })).size;
  assert.equal(keys("cnn3d"), 656);
  assert.equal(keys("cnn3d", "mit-b5"), 1184);
  assert.equal(keys("unet3d"), 692);
  assert.equal(keys("unet3d_jumbo"), 1220);
  assert.equal(keys("unetr"), 1346);
  assert.equal(keys("unetr_mc"), 1340);
  assert.equal(memberSpec(memberConfig("unetr")).count(isCounter), 178_091_523);
  assert.equal(memberSpec(memberConfig("unetr_mc")).count(isCounter), 177_761_545);
  assert.equal(memberSpec(memberConfig("cnn3d")).count(isCounter) - 47_315_713, 18_312 + 34);
});

Deno.test("configs reject unknown presets, fields and mismatched channels with one line", () => {
  assert.throws(() => memberConfig("cnn4d"), /Unknown model family "cnn4d" \(valid: cnn3d, /);
  assert.throws(
    () => segformerConfig("mit-b9", { num_channels: 1, num_labels: 1 }),
    /Unknown SegFormer preset "mit-b9"/,
  );
  assert.throws(
    () =>
      segformerConfig({ preset: "b0", hiden_sizes: [1] } as never, {
        num_channels: 1,
        num_labels: 1,
      }),
    /Unknown SegFormer config field "hiden_sizes"/,
  );
  assert.throws(
    () => memberConfig("unetr", { unetr: { hiden_size: 8 } as never }),
    /Unknown UNETR config field "hiden_size" \(valid: in_channels, /,
  );
  assert.throws(
    () => memberConfig("cnn3d", { segformer: { preset: "b0", num_channels: 8 } }),
    /num_channels 8 does not match the cnn3d encoder's 32 channels/,
  );
});
