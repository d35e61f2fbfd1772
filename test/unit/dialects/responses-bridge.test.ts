// The chat bridge's steps, table by table (issue 33): a Responses body as the chat request an engine without
// the Responses API is sent (or the 400 naming what chat cannot carry), a chat completion as a Response, and
// a chat stream as the Responses events a client reads.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { GatewayError } from "../../../src/core/errors.ts";
import { SseParser } from "../../../src/core/stream/sse.ts";
import {
  fromChatCompletion,
  responsesEventsFromChat,
  toChatRequest,
} from "../../../src/dialects/openai/responses-bridge.ts";

const test = suite("responses-bridge");
type Item = Record<string, unknown>;
const base = { model: "m" };

const REQUESTS: Array<[string, Item, Item]> = [
  ["text_input", { ...base, input: "hi" }, { model: "m", messages: [{ role: "user", content: "hi" }] }],
  [
    "instructions_and_developer_become_system",
    {
      ...base,
      instructions: "Be brief.",
      input: [
        { role: "developer", content: "Rule." },
        { role: "user", content: "q" },
      ],
    },
    {
      model: "m",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "system", content: "Rule." },
        { role: "user", content: "q" },
      ],
    },
  ],
  [
    "text_parts_joined_an_image_kept_as_a_part",
    {
      ...base,
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "a" },
            { type: "input_text", text: "b" },
          ],
        },
        {
          role: "user",
          content: [
            { type: "input_text", text: "see" },
            { type: "input_image", image_url: "https://x/i.png" },
          ],
        },
      ],
    },
    {
      model: "m",
      messages: [
        { role: "user", content: "ab" },
        {
          role: "user",
          content: [
            { type: "text", text: "see" },
            { type: "image_url", image_url: { url: "https://x/i.png" } },
          ],
        },
      ],
    },
  ],
  [
    "a_tool_round_trip_parallel_calls_in_one_assistant_message",
    {
      ...base,
      input: [
        { role: "user", content: "weather?" },
        { type: "function_call", call_id: "c1", name: "w", arguments: '{"city":"A"}' },
        { type: "function_call", call_id: "c2", name: "w", arguments: '{"city":"B"}' },
        { type: "function_call_output", call_id: "c1", output: "sunny" },
        { type: "reasoning", id: "rs_1", summary: [] },
      ],
    },
    {
      model: "m",
      messages: [
        { role: "user", content: "weather?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "c1", type: "function", function: { name: "w", arguments: '{"city":"A"}' } },
            { id: "c2", type: "function", function: { name: "w", arguments: '{"city":"B"}' } },
          ],
        },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
      ],
    },
  ],
  [
    "settings_mapped",
    {
      ...base,
      input: "x",
      max_output_tokens: 7,
      temperature: 0.5,
      top_k: 3,
      reasoning: { effort: "low" },
      text: { format: { type: "json_schema", name: "s", schema: { type: "object" } } },
      tools: [{ type: "function", name: "f", parameters: { type: "object" }, strict: true }],
      tool_choice: { type: "function", name: "f" },
      include: ["message.output_text.logprobs"],
    },
    {
      model: "m",
      messages: [{ role: "user", content: "x" }],
      temperature: 0.5,
      top_k: 3,
      max_tokens: 7,
      logprobs: true,
      reasoning_effort: "low",
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" }, strict: true } }],
      tool_choice: { type: "function", function: { name: "f" } },
      response_format: { type: "json_schema", json_schema: { name: "s", schema: { type: "object" } } },
    },
  ],
];
for (const [name, body, expected] of REQUESTS)
  test(`request_${name}`, () => assert.equal(toChatRequest(body), expected));

const REFUSED: Array<[string, Item, string]> = [
  ["a_hosted_tool", { ...base, input: "x", tools: [{ type: "web_search_preview" }] }, "tools[0]"],
  ["truncation_auto", { ...base, input: "x", truncation: "auto" }, "truncation"],
  ["another_include", { ...base, input: "x", include: ["file_search_call.results"] }, "include"],
  ["a_prompt_template", { ...base, input: "x", prompt: { id: "p" } }, "prompt"],
  [
    "an_image_by_file_id",
    { ...base, input: [{ role: "user", content: [{ type: "input_image", file_id: "f" }] }] },
    "input[0].content[0]",
  ],
  ["an_unknown_item", { ...base, input: [{ type: "computer_call" }] }, "input[0]"],
  ["a_hosted_tool_choice", { ...base, input: "x", tool_choice: { type: "file_search" } }, "tool_choice"],
];
for (const [name, body, target] of REFUSED)
  test(`refused_${name}`, () => {
    const err = (() => {
      try {
        toChatRequest(body);
      } catch (e) {
        return e;
      }
    })();
    assert.instance(err, GatewayError);
    assert.is((err as GatewayError).code, "InvalidRequestBody");
    assert.is((err as GatewayError).target, target);
  });

const completion = (message: Item, finish_reason: string, usage?: Item): Item => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1700000000,
  model: "engine-model",
  choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason }],
  ...(usage ? { usage } : {}),
});
const ANSWERS: Array<[string, Item, { status: string; types: string[]; incomplete: unknown; usage: unknown }]> = [
  [
    "text",
    completion({ content: "hello" }, "stop", { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 }),
    {
      status: "completed",
      types: ["message"],
      incomplete: null,
      usage: {
        input_tokens: 3,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 1,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 4,
      },
    },
  ],
  [
    "reasoning_then_calls",
    completion(
      {
        content: null,
        reasoning_content: "think",
        tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      "tool_calls",
    ),
    { status: "completed", types: ["reasoning", "function_call"], incomplete: null, usage: null },
  ],
  [
    "cut_by_length",
    completion({ content: "par" }, "length"),
    { status: "incomplete", types: ["message"], incomplete: { reason: "max_output_tokens" }, usage: null },
  ],
  [
    "content_filter",
    completion({ content: "" }, "content_filter"),
    { status: "incomplete", types: [], incomplete: { reason: "content_filter" }, usage: null },
  ],
];
for (const [name, answer, expected] of ANSWERS)
  test(`answer_${name}`, () => {
    const response = fromChatCompletion(answer, { model: "m", input: "x", temperature: 0.5 });
    assert.is(response.object, "response");
    assert.is(response.model, "engine-model");
    assert.is(response.created_at, 1700000000);
    assert.is(response.temperature, 0.5, "the request's settings are echoed");
    assert.is(response.status, expected.status);
    assert.equal(
      (response.output as Item[]).map((item) => item.type),
      expected.types,
    );
    assert.equal(response.incomplete_details, expected.incomplete);
    assert.equal(response.usage, expected.usage);
  });

const chunk = (delta: Item, finish_reason: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1700000000, model: "engine-model", choices: [{ index: 0, delta, finish_reason }] })}\n\n`;
async function eventsOf(pieces: string[]): Promise<Array<Record<string, any>>> {
  async function* bytes() {
    for (const piece of pieces) yield new TextEncoder().encode(piece);
  }
  const parser = new SseParser();
  const events: Array<Record<string, any>> = [];
  for await (const out of responsesEventsFromChat(bytes(), { model: "m", input: "x" }))
    for (const event of parser.push(out)) events.push(JSON.parse(event.data));
  return events;
}

test("stream_text_becomes_the_responses_event_sequence", async () => {
  const events = await eventsOf([
    chunk({ role: "assistant", content: "" }),
    chunk({ content: "Hel" }),
    chunk({ content: "lo" }),
    chunk({}, "stop"),
    `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1700000000, model: "engine-model", choices: [], usage: { prompt_tokens: 2, completion_tokens: 2, total_tokens: 4 } })}\n\n`,
    "data: [DONE]\n\n",
  ]);
  assert.equal(
    events.map((e) => e.type),
    [
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ],
  );
  assert.equal(
    events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta),
    ["Hel", "lo"],
  );
  const done = events.at(-1)!.response;
  assert.is(done.status, "completed");
  assert.is(done.output[0].content[0].text, "Hello");
  assert.is(done.usage.output_tokens, 2);
});

test("stream_tool_call_arguments_in_pieces", async () => {
  const events = await eventsOf([
    chunk({
      role: "assistant",
      tool_calls: [{ index: 0, id: "c1", type: "function", function: { name: "f", arguments: "" } }],
    }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: '{"a":' } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }),
    chunk({}, "tool_calls"),
    "data: [DONE]\n\n",
  ]);
  assert.equal(
    events.filter((e) => e.type === "response.function_call_arguments.delta").map((e) => e.delta),
    ['{"a":', "1}"],
  );
  const done = events.find((e) => e.type === "response.function_call_arguments.done")!;
  assert.is(done.arguments, '{"a":1}');
  const final = events.at(-1)!;
  assert.is(final.type, "response.completed");
  assert.equal(
    final.response.output.map((item: Item) => [item.type, item.call_id, item.name]),
    [["function_call", "c1", "f"]],
  );
});

test("stream_cut_by_length_is_incomplete", async () => {
  const events = await eventsOf([chunk({ content: "par" }), chunk({}, "length"), "data: [DONE]\n\n"]);
  const final = events.at(-1)!;
  assert.is(final.type, "response.incomplete");
  assert.equal(final.response.incomplete_details, { reason: "max_output_tokens" });
});

test.run();
