// The engine's key out of its answers (issue 32), however the bytes are cut into chunks: whole, split at
// every position, several times, next to text that only begins like it; and nothing held back that cannot
// be the key (an SSE event's end goes out at once).
import { Readable } from "node:stream";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { RedactedBody, redactKnown } from "../../../src/core/upstream/redact-body.ts";

const test = suite("redact-body");
const KEY = "engine-key-0123456789";

async function through(chunks: string[], keys = [KEY]): Promise<{ text: string; pieces: string[] }> {
  const body = new RedactedBody(keys);
  const pieces: string[] = [];
  Readable.from(chunks.map((c) => Buffer.from(c))).pipe(body);
  for await (const piece of body) pieces.push(String(piece));
  return { text: pieces.join(""), pieces };
}

test("a_key_in_one_chunk", async () => {
  const { text } = await through([`{"echo":"Bearer ${KEY}","n":1}`]);
  assert.is(text, '{"echo":"Bearer [redacted]","n":1}');
});

test("a_key_split_at_every_position", async () => {
  const answer = `data: {"headers":{"authorization":"Bearer ${KEY}"}}\n\n`;
  for (let cut = 1; cut < answer.length; cut++) {
    const { text } = await through([answer.slice(0, cut), answer.slice(cut)]);
    assert.is(text, 'data: {"headers":{"authorization":"Bearer [redacted]"}}\n\n', `cut at ${cut}`);
  }
});

test("a_key_over_three_chunks_and_twice", async () => {
  const { text } = await through([`${KEY.slice(0, 5)}`, `${KEY.slice(5, 9)}`, `${KEY.slice(9)} and ${KEY}!`]);
  assert.is(text, "[redacted] and [redacted]!");
});

test("text_that_begins_like_the_key_is_kept", async () => {
  const { text } = await through(["the engine-key-0123 is", " not the key: engine-"]);
  assert.is(text, "the engine-key-0123 is not the key: engine-");
});

test("an_event_end_is_never_held_back", async () => {
  const body = new RedactedBody([KEY]);
  const event = 'data: {"a":"engine-"}\n\n';
  const out = new Promise<string>((resolve) => body.once("data", (chunk) => resolve(String(chunk))));
  body.write(Buffer.from(event)); // nothing follows yet: the whole event must come out now
  assert.is(await out, event);
  body.end();
});

test("two_keys", async () => {
  const { text } = await through(["k1-secret-aaaa and k2-secret-bbbb"], ["k1-secret-aaaa", "k2-secret-bbbb"]);
  assert.is(text, "[redacted] and [redacted]");
});

test("an_answer_read_whole", () => {
  assert.is(redactKnown(`{"key":"${KEY}","again":"${KEY}"}`, [KEY]), '{"key":"[redacted]","again":"[redacted]"}');
  const plain = '{"choices":[]}';
  assert.is(redactKnown(plain, [KEY]), plain);
});

test.run();
