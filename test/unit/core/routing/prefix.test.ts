// Prefix blocks: two prompts share block i exactly when their first i blocks agree, however the text is
// split into parts; a short tail is no block; the anchor is the first blocks or the cache key.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ANCHOR_BLOCKS, anchorOf, BLOCK_CHARS, prefixBlocks } from "../../../../src/core/routing/prefix.ts";
import { chatFacts, responsesFacts } from "../../../../src/core/routing/prompt.ts";

const test = suite("prefix-blocks");
const text = (n: number, seed = "x") =>
  Array.from({ length: n }, (_, i) => seed + String(i % 10))
    .join("")
    .slice(0, n);

test("blocks_are_whole_blocks_of_the_text_read_as_one", () => {
  const whole = text(BLOCK_CHARS * 3 + 100);
  const blocks = prefixBlocks([whole]);
  assert.is(blocks.length, 3, "the 100-character tail is no block");
  for (const cut of [1, 3, 255, 256, 257, 700])
    assert.equal([...prefixBlocks([whole.slice(0, cut), whole.slice(cut)])], [...blocks], `split at ${cut}`);
  assert.equal([...prefixBlocks([whole.slice(0, 10), "", whole.slice(10)])], [...blocks], "an empty part");
  assert.is(prefixBlocks(["short"]).length, 0);
});

test("a_difference_changes_its_block_and_every_later_one_never_an_earlier_one", () => {
  const base = text(BLOCK_CHARS * 4);
  for (const at of [0, BLOCK_CHARS - 1, BLOCK_CHARS, 2 * BLOCK_CHARS + 17]) {
    const changed = base.slice(0, at) + "#" + base.slice(at + 1);
    const [a, b] = [prefixBlocks([base]), prefixBlocks([changed])];
    const first = Math.floor(at / BLOCK_CHARS);
    for (let i = 0; i < 4; i++)
      if (i < first) assert.is(a[i], b[i], `block ${i} before the change at ${at}`);
      else assert.is.not(a[i], b[i], `block ${i} from the change at ${at}`);
  }
});

test("blocks_are_capped", () => {
  assert.is(prefixBlocks([text(BLOCK_CHARS * 20)], BLOCK_CHARS, 8).length, 8);
});

test("the_anchor_is_the_first_blocks_or_the_cache_key", () => {
  const shared = text(BLOCK_CHARS * ANCHOR_BLOCKS);
  const a = prefixBlocks([shared, text(BLOCK_CHARS * 2, "a")]);
  const b = prefixBlocks([shared, text(BLOCK_CHARS * 3, "b")]);
  assert.is(anchorOf(a, undefined), anchorOf(b, undefined), "prompts that share their first blocks");
  assert.is.not(anchorOf(prefixBlocks([text(BLOCK_CHARS * 5, "c")]), undefined), anchorOf(a, undefined));
  assert.is(anchorOf(prefixBlocks([text(BLOCK_CHARS, "c")]), undefined), prefixBlocks([text(BLOCK_CHARS, "c")])[0]);
  assert.is(anchorOf(new Uint32Array(0), undefined), undefined);
  assert.is(anchorOf(a, "key"), anchorOf(new Uint32Array(0), "key"));
  assert.is.not(anchorOf(a, "key"), anchorOf(a, "other key"));
});

test("chat_and_responses_prompts_read_tools_then_the_turns_in_order", () => {
  const tools = [{ type: "function" as const, function: { name: "f", parameters: {} } }];
  const chat = chatFacts({
    model: "m",
    tools,
    prompt_cache_key: "k",
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: [{ type: "text", text: "hello" }] },
    ],
  });
  assert.equal(chat.prompt, [JSON.stringify(tools), "system", "be brief", "user", "hello"]);
  assert.is(chat.cacheKey, "k");
  const responses = responsesFacts(
    {
      instructions: "be brief",
      input: [
        { role: "user", content: "hello" },
        { type: "function_call_output", call_id: "c1", output: "42" },
      ],
    },
    "a:1",
  );
  assert.equal(responses.prompt, [
    "be brief",
    "user",
    "hello",
    JSON.stringify({ type: "function_call_output", call_id: "c1", output: "42" }),
  ]);
  assert.is(responses.previousReplica, "a:1");
  assert.equal(responsesFacts({ input: "just text" }).prompt, ["just text"]);
});

test.run();
