import { equal, match, ok } from "node:assert/strict";
import { formatTime, ProgressBoard } from "./progress.ts";

Deno.test("progress bars draw count, rate and ETA, throttled", () => {
  const writes: string[] = [];
  const board = new ProgressBoard(true, (t) => writes.push(t));
  const p = board.forNode("tiles");
  p.start(100, "tiles");
  for (let i = 0; i < 50; i++) p.tick();
  ok(writes.length < 5, `${writes.length} redraws`);
  p.done();
  const last = writes.at(-1)!;
  const clear = "\x1b[1A\r\x1b[J";
  equal(last.slice(0, clear.length), clear);
  match(
    last.slice(clear.length),
    /^tiles {2}\[#+-*\] {2}50\/100 tiles {2}[\d.]+ tiles\/s {2}done in 0:00\n$/,
  );
  equal(p.state()?.count, 50);
});

Deno.test("a quiet board draws nothing but keeps counts", () => {
  const writes: string[] = [];
  const board = new ProgressBoard(false, (t) => writes.push(t));
  const p = board.forNode("x");
  p.start(3, "rows");
  p.tick(3);
  p.done();
  equal(writes.length, 0);
  equal(p.state()?.count, 3);
});

Deno.test("formatTime", () => {
  equal(formatTime(5), "0:05");
  equal(formatTime(125), "2:05");
  equal(formatTime(3725), "1:02:05");
});
