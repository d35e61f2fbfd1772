// What a request is charged when it settles (issue 32: every token charged on every path), by what the
// gateway saw of it: usage reported or not, a stream finished or cut, an answer, an abandoned call, none.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { estimateTokens, type Spent, spentOf, tokensSpent } from "../../../src/core/consumers/limits.ts";
import { GatewayError } from "../../../src/core/errors.ts";
import { openExchange } from "../../../src/core/pipeline/exchange.ts";
import { createStreamOutcome, noteContent } from "../../../src/core/stream/sse-writer.ts";

const test = suite("limits-settle");
const ESTIMATE = { prompt: 10, output: 100 };
const none: Spent = { usage: undefined, stream: undefined, answered: false, abandoned: false };

const CASES: Array<[string, Partial<Spent>, number]> = [
  ["never_reached_the_engine", {}, 0],
  ["refused_by_the_engine", { answered: false }, 0],
  ["answered_with_usage", { answered: true, usage: { prompt_tokens: 12, completion_tokens: 30 } }, 42],
  ["answered_without_usage", { answered: true }, 10],
  ["usage_without_prompt", { answered: true, usage: { completion_tokens: 30 } }, 40],
  ["abandoned_while_the_engine_worked", { abandoned: true }, 110],
  [
    "stream_finished_with_usage",
    { answered: true, usage: { prompt_tokens: 12, completion_tokens: 30 }, stream: { tokens: 31, complete: true } },
    42,
  ],
  ["stream_finished_without_usage", { answered: true, stream: { tokens: 25, complete: true } }, 35],
  // The probe's hole: 2,450 tokens read, the client left; no usage came.
  ["stream_cut_by_the_client", { answered: true, stream: { tokens: 2450, complete: false } }, 2460],
  ["stream_cut_past_the_reservation", { answered: true, stream: { tokens: 500, complete: false } }, 510],
  // Anthropic's message_start says input 12, output 1; the stream is cut before message_delta.
  [
    "stream_cut_with_partial_usage",
    { answered: true, usage: { prompt_tokens: 12, completion_tokens: 1 }, stream: { tokens: 300, complete: false } },
    312,
  ],
  ["stream_cut_before_any_content", { answered: true, stream: { tokens: 0, complete: false } }, 10],
];
for (const [name, spent, expected] of CASES)
  test(name, () => assert.is(tokensSpent(ESTIMATE, { ...none, ...spent }), expected));

test("estimate_of_a_chat_body", () => {
  const body = { messages: [{ role: "user", content: "x".repeat(40) }], max_tokens: 7 };
  assert.equal(estimateTokens(body, "chat"), {
    prompt: Math.ceil(JSON.stringify(body.messages).length / 4),
    output: 7,
  });
  assert.equal(estimateTokens({ input: "abcd" }, "embeddings"), { prompt: 1, output: 0 });
  assert.equal(estimateTokens({ input: "abcd" }, "responses").output, 1024);
});

/** What an exchange says a request spent when its response closes: the facts tokensSpent settles from. */
test("spent_of_an_exchange_by_what_the_gateway_saw", () => {
  const exchange = (fields: Record<string, unknown> = {}) =>
    Object.assign(openExchange({ state: {} } as never, "r1", undefined, "openai"), fields);
  const usage = { prompt_tokens: 12, completion_tokens: 30 };
  const streamed = createStreamOutcome();
  noteContent(streamed, 40); // 10 tokens of text in one event
  streamed.usage = { prompt_tokens: 5, completion_tokens: 9 };
  streamed.completed = true;
  const cut = createStreamOutcome();
  noteContent(cut, 3);
  noteContent(cut, 3); // two events of 3 characters: at least a token each
  const timeout = new GatewayError("UpstreamTimeout", "no answer");
  const unavailable = new GatewayError("UpstreamUnavailable", "refused");
  const rows: Array<[string, ReturnType<typeof exchange>, boolean, Spent]> = [
    ["never asked", exchange(), false, none],
    ["never asked, the client left", exchange(), true, none],
    [
      "answered with usage",
      exchange({ engineAsked: true, upstreamMs: 5, usage }),
      false,
      { ...none, usage, answered: true },
    ],
    ["asked, the client left before an answer", exchange({ engineAsked: true }), true, { ...none, abandoned: true }],
    ["asked, timed out", exchange({ engineAsked: true, error: timeout }), false, { ...none, abandoned: true }],
    ["asked, the engine refused the connection", exchange({ engineAsked: true, error: unavailable }), false, none],
    [
      "answered, then the client left",
      exchange({ engineAsked: true, upstreamMs: 5 }),
      true,
      { ...none, answered: true },
    ],
    [
      "a finished stream: its own usage, not the exchange's",
      exchange({ engineAsked: true, upstreamMs: 5, usage, streamOutcome: streamed }),
      false,
      { usage: streamed.usage, stream: { tokens: 10, complete: true }, answered: true, abandoned: false },
    ],
    [
      "a cut stream without usage",
      exchange({ engineAsked: true, upstreamMs: 5, streamOutcome: cut }),
      true,
      { usage: undefined, stream: { tokens: 2, complete: false }, answered: true, abandoned: false },
    ],
  ];
  for (const [name, ex, clientLeft, expected] of rows) assert.equal(spentOf(ex as never, clientLeft), expected, name);
});

test.run();
