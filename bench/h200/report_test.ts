import { equal, ok } from "node:assert/strict";
import { table, torchName } from "./report.ts";

Deno.test("h200 report pairs our rows with PyTorch's and computes the ratio", () => {
  equal(torchName("cnn3d + mit-b3 forward, 1x1x16x256x256"), "cnn3d forward, 1x1x16x256x256");
  equal(torchName("matmul 4096x256 . 256x256"), "matmul 4096x256 by 256x256");
  equal(torchName("gelu 4096 x 256 (Mix-FFN hidden of MiT stage 1)"), undefined);
  const md = table(
    {
      peakGflops: 40000,
      rows: [
        { name: "conv3d 3x3x3 16->16, 16x128x128", ms: 2, gflops: 20000 },
        { name: "gelu 4096 x 256", ms: 0.1 },
      ],
    },
    {
      device: "NVIDIA H200",
      torch: "2.5",
      rows: [
        { name: "conv3d 3x3x3 16->16, 16x128x128", mode: "fp32", ms: 3 },
        { name: "conv3d 3x3x3 16->16, 16x128x128", mode: "autocast bf16", ms: 1 },
      ],
    },
  );
  ok(
    md.includes(
      "| conv3d 3x3x3 16->16, 16x128x128 | 2.000 | 20000 | 50.0 % | 3.000 | 1.000 | 1.50x |",
    ),
  );
  ok(md.includes("| gelu 4096 x 256 | 0.100 | - | - | - | - | - |"));
});
