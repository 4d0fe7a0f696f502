/**
 * Merges the H200 benchmark's two halves, `ours.json` (bench/networks.ts) and
 * `torch.json` (bench/h200/torch_bench.py), into one Markdown table: each
 * kernel and member forward with our time and PyTorch's in float32 (TF32 off)
 * and under autocast, our GFLOP/s and our speed relative to PyTorch float32.
 * Writes `DIR/h200.md` and replaces the marked section of BENCHMARKS.md.
 *
 * Usage: deno run -A bench/h200/report.ts DIR [BENCHMARKS.md]
 *
 * @module
 */

interface OurRow {
  name: string;
  ms: number;
  gflops?: number;
}

interface TorchRow {
  name: string;
  mode: string;
  ms: number;
  gflops?: number;
}

/** Our row names (bench/networks.ts) and the PyTorch row measuring the same thing. */
const SAME: [RegExp, string][] = [
  [/^conv3d 3x3x3 16->16, 16x128x128$/, "conv3d 3x3x3 16->16, 16x128x128"],
  [/^conv2d 3x3 s2 64->128, 128x128$/, "conv2d 3x3 s2 64->128, 128x128"],
  [/^matmul 4096x256/, "matmul 4096x256 by 256x256"],
  [/^attention 16384q/, "attention 16384 q x 256 k, 1 head of 64"],
  [/^conv2d 7x7 s4 32->64/, "conv2d 7x7 s4 32->64, 256x256"],
  [/^depthwise conv2d 3x3, 256 ch/, "depthwise conv2d 3x3, 256 ch, 64x64"],
  [/^conv3d backward input 3x3x3 16->32/, "conv3d input gradient 16->32, 8x4x128x128"],
  [/^conv3d backward weight 3x3x3 16->32/, "conv3d weight gradient 16->32, 8x4x128x128"],
];

const MARK_BEGIN = "<!-- h200:begin (bench/h200/report.ts) -->";
const MARK_END = "<!-- h200:end -->";

/** The PyTorch row name for one of ours, if it measures the same thing. */
export function torchName(ours: string): string | undefined {
  const fwd = ours.match(/^(\w+) \+ mit-b\d forward, (1x1x16x\d+x\d+)$/);
  if (fwd) return `${fwd[1]} forward, ${fwd[2]}`;
  return SAME.find(([re]) => re.test(ours))?.[1];
}

/** The Markdown table for one run. */
export function table(
  ours: { rows: OurRow[]; peakGflops: number },
  torch: { device: string; torch: string; rows: TorchRow[] },
): string {
  const find = (name: string, mode: string) =>
    torch.rows.find((r) => r.name === name && r.mode === mode);
  const ms = (v?: number) => (v === undefined ? "-" : v < 10 ? v.toFixed(3) : v.toFixed(1));
  const lines = [
    `PyTorch ${torch.torch} on ${torch.device}; our FMA-bound peak on this adapter ${
      ours.peakGflops.toFixed(0)
    } GFLOP/s.`,
    "",
    "| kernel or forward | ours (ms) | ours GFLOP/s | % of peak | PyTorch fp32 (ms) | PyTorch autocast (ms) | ours vs fp32 |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of ours.rows) {
    const tn = torchName(r.name);
    const f32 = tn ? find(tn, "fp32") : undefined;
    const amp = tn ? find(tn, "autocast bf16") : undefined;
    lines.push(
      `| ${r.name} | ${ms(r.ms)} | ${r.gflops ? r.gflops.toFixed(0) : "-"} | ${
        r.gflops ? (100 * r.gflops / ours.peakGflops).toFixed(1) + " %" : "-"
      } | ${ms(f32?.ms)} | ${ms(amp?.ms)} | ${f32 ? (f32.ms / r.ms).toFixed(2) + "x" : "-"} |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const [dir, benchmarks] = Deno.args;
  if (!dir) {
    console.error("usage: deno run -A bench/h200/report.ts DIR [BENCHMARKS.md]");
    Deno.exit(2);
  }
  const ours = JSON.parse(await Deno.readTextFile(`${dir}/ours.json`));
  const torch = JSON.parse(await Deno.readTextFile(`${dir}/torch.json`));
  const date = new Date().toISOString().slice(0, 10);
  const section = `${MARK_BEGIN}\n### H200 run (${date}, \`bench/h200/run.sh\`)\n\n${
    table(ours, torch)
  }\n${MARK_END}`;
  await Deno.writeTextFile(`${dir}/h200.md`, section + "\n");
  if (benchmarks) {
    const text = await Deno.readTextFile(benchmarks);
    const a = text.indexOf(MARK_BEGIN), b = text.indexOf(MARK_END);
    const next = a >= 0 && b > a
      ? text.slice(0, a) + section + text.slice(b + MARK_END.length)
      : text.trimEnd() + "\n\n" + section + "\n";
    await Deno.writeTextFile(benchmarks, next);
  }
  console.log(section);
}
