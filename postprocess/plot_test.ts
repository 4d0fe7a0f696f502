import assert from "node:assert/strict";
import { decode } from "fast-png";
import { renderPlot, writePlot } from "./plot.ts";

/** How many pixels have exactly this colour. */
function count(image: { data: Uint8Array }, [r, g, b]: number[]): number {
  let n = 0;
  for (let i = 0; i < image.data.length; i += 3) {
    if (image.data[i] === r && image.data[i + 1] === g && image.data[i + 2] === b) n++;
  }
  return n;
}

Deno.test("a plot draws each series in its colour, axes, text and a legend", () => {
  const x = [0.1, 0.2, 0.3, 0.4];
  const image = renderPlot(
    [{ name: "seed", x, y: [0.2, 0.5, 0.4, 0.1] }, { name: "sklearn", x, y: [0.1, 0.4, 0.3, 0] }],
    { width: 300, height: 200, title: "F0.5 vs threshold", xLabel: "threshold", yLabel: "F0.5" },
  );
  assert.deepEqual([image.width, image.height, image.data.length], [300, 200, 300 * 200 * 3]);
  assert.ok(count(image, [31, 119, 180]) > 200, "first series");
  assert.ok(count(image, [255, 127, 14]) > 200, "second series");
  assert.ok(count(image, [0, 0, 0]) > 1500, "axes and text");
});

Deno.test("gaps, a single point, constant values and no data still render", () => {
  const blue = [31, 119, 180];
  const gap = renderPlot([{ name: "", x: [0, 1, 2, 3], y: [1, NaN, 2, Infinity] }]);
  assert.ok(count(gap, blue) > 0);
  const flat = renderPlot([{ name: "flat", x: [5], y: [3] }], { width: 120, height: 90 });
  assert.ok(count(flat, blue) >= 25, "a marker");
  const empty = renderPlot([], { yRange: [0, 1] });
  assert.equal(count(empty, blue), 0);
});

Deno.test("writePlot writes an RGB PNG", async () => {
  const path = await Deno.makeTempFile({ suffix: ".png" });
  try {
    const epochs = [0, 1, 2, 3, 4];
    await writePlot(path, [
      { name: "loss", x: epochs, y: [0.9, 0.6, 0.5, 0.45, 0.44] },
      { name: "F0.5", x: epochs, y: [0.1, 0.3, 0.45, 0.5, 0.52] },
    ], { title: "Training", xLabel: "epoch", width: 400, height: 250 });
    const png = decode(await Deno.readFile(path));
    assert.deepEqual([png.width, png.height, png.channels, png.depth], [400, 250, 3, 8]);
  } finally {
    await Deno.remove(path);
  }
});
