import { suite } from "uvu";
import * as assert from "uvu/assert";
import fc from "fast-check";
import { SseParser, type SseEvent } from "../../../src/core/stream/sse.ts";

const test = suite("sse-parser");
const bytes = (s: string) => new TextEncoder().encode(s);

function parseAll(parts: Uint8Array[]): SseEvent[] {
  const parser = new SseParser();
  return [...parts.flatMap((p) => parser.push(p)), ...parser.end()];
}

const TRANSCRIPT =
  ": keep-alive\r\n\r\n" +
  'event: message\r\nid: 7\r\ndata: {"a":1}\r\n\r\n' +
  "data: line one\ndata: line two\n\n" +
  'data: {"emoji":"héllo 🦊"}\r\r' +
  "retry: 10\n: comment\ndata:no-space\n\n" +
  'data: {"error":{"message":"boom"}}\n\n' +
  "data: [DONE]"; // no final newline

const EXPECTED: SseEvent[] = [
  { event: "message", data: '{"a":1}', id: "7" },
  { event: "message", data: "line one\nline two", id: "7" },
  { event: "message", data: '{"emoji":"héllo 🦊"}', id: "7" },
  { event: "message", data: "no-space", id: "7" },
  { event: "message", data: '{"error":{"message":"boom"}}', id: "7" },
  { event: "message", data: "[DONE]", id: "7" },
];

test("whole_transcript", () => {
  assert.equal(parseAll([bytes(TRANSCRIPT)]), EXPECTED);
});

test("every_single_split_point_gives_the_same_events", () => {
  const all = bytes(TRANSCRIPT);
  for (let i = 0; i <= all.length; i++)
    assert.equal(parseAll([all.slice(0, i), all.slice(i)]), EXPECTED, `split at ${i}`);
});

test("any_chunking_gives_the_same_events (property)", () => {
  const all = bytes(TRANSCRIPT);
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: all.length - 1 }), { maxLength: 40 }), (cuts) => {
      const points = [0, ...cuts.sort((a, b) => a - b), all.length];
      const parts = points.slice(1).map((end, i) => all.slice(points[i], end));
      assert.equal(parseAll(parts), EXPECTED);
    }),
    { numRuns: 500 },
  );
});

test("random_event_streams_round_trip (property)", () => {
  const payload = fc.string({ unit: "grapheme", maxLength: 30 }).filter((s) => !/[\r\n]/.test(s));
  fc.assert(
    fc.property(
      fc.array(payload, { minLength: 1, maxLength: 20 }),
      fc.constantFrom("\n", "\r\n", "\r"),
      fc.integer({ min: 1, max: 7 }),
      (datas, eol, size) => {
        const text = datas.map((d) => `: ka${eol}data: ${d}${eol}${eol}`).join("");
        const all = bytes(text);
        const parts: Uint8Array[] = [];
        for (let i = 0; i < all.length; i += size) parts.push(all.slice(i, i + size));
        assert.equal(
          parseAll(parts).map((e) => e.data),
          datas,
        );
      },
    ),
    { numRuns: 300 },
  );
});

test.run();
