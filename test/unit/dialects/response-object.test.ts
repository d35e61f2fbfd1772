// completeResponse, table by table: what a Response carries when the engine left fields out (llama.cpp's
// objects lack 23 of the 32 the Open Responses specification requires), the request's settings echoed,
// the engine's own values kept, function tools with `strict`, usage with its details.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { completeResponse, REQUIRED_RESPONSE_FIELDS } from "../../../src/dialects/openai/response-object.ts";

const test = suite("response-object");
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);
const sparse = () => ({
  id: "resp_1",
  status: "completed",
  output: [{ type: "message", role: "assistant", content: [{ type: "output_text", text: "hi", annotations: [] }] }],
  usage: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
});

test("a_sparse_engine_object_gets_every_required_field_with_the_apis_defaults", () => {
  const response = completeResponse(sparse(), { model: "chat", input: "hello" }, NOW);
  for (const field of REQUIRED_RESPONSE_FIELDS.filter((f) => !["previous_response_id", "store"].includes(f)))
    assert.ok(field in response, `${field} present`);
  assert.equal(
    {
      object: response.object,
      created_at: response.created_at,
      completed_at: response.completed_at,
      model: response.model,
      instructions: response.instructions,
      tools: response.tools,
      tool_choice: response.tool_choice,
      truncation: response.truncation,
      parallel_tool_calls: response.parallel_tool_calls,
      text: response.text,
      top_p: response.top_p,
      temperature: response.temperature,
      presence_penalty: response.presence_penalty,
      frequency_penalty: response.frequency_penalty,
      top_logprobs: response.top_logprobs,
      reasoning: response.reasoning,
      user: response.user,
      max_output_tokens: response.max_output_tokens,
      max_tool_calls: response.max_tool_calls,
      background: response.background,
      service_tier: response.service_tier,
      metadata: response.metadata,
      safety_identifier: response.safety_identifier,
      prompt_cache_key: response.prompt_cache_key,
      error: response.error,
      incomplete_details: response.incomplete_details,
    },
    {
      object: "response",
      created_at: NOW / 1000,
      completed_at: NOW / 1000,
      model: "chat",
      instructions: null,
      tools: [],
      tool_choice: "auto",
      truncation: "disabled",
      parallel_tool_calls: true,
      text: { format: { type: "text" } },
      top_p: 1,
      temperature: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      top_logprobs: 0,
      reasoning: { effort: null, summary: null },
      user: null,
      max_output_tokens: null,
      max_tool_calls: null,
      background: false,
      service_tier: "default",
      metadata: {},
      safety_identifier: null,
      prompt_cache_key: null,
      error: null,
      incomplete_details: null,
    },
  );
  assert.equal(response.usage, {
    input_tokens: 5,
    output_tokens: 2,
    total_tokens: 7,
    input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 },
  });
});

test("the_requests_settings_are_echoed_and_the_engines_own_values_kept", () => {
  const request = {
    model: "chat",
    instructions: "be brief",
    temperature: 0.2,
    top_p: 0.9,
    max_output_tokens: 64,
    metadata: { team: "a" },
    prompt_cache_key: "k1",
    prompt_cache_retention: "24h",
    safety_identifier: "user-7",
    text: { format: { type: "json_object" } },
    tool_choice: "required",
    tools: [
      { type: "function", name: "f", parameters: {} },
      { type: "function", name: "g", parameters: {}, strict: true },
    ],
  };
  const response = completeResponse(
    { ...sparse(), temperature: 0.3, model: "engine-model", metadata: {}, prompt_cache_key: null },
    request,
    NOW,
  );
  assert.is(response.temperature, 0.3, "what the engine says it used");
  assert.is(response.model, "engine-model");
  assert.is(response.top_p, 0.9);
  assert.is(response.instructions, "be brief");
  assert.is(response.max_output_tokens, 64);
  assert.equal(response.metadata, { team: "a" }, "the gateway keeps it for the client, whatever the engine echoed");
  assert.is(response.prompt_cache_key, "k1");
  assert.is(response.prompt_cache_retention, "24h");
  assert.is(response.safety_identifier, "user-7");
  assert.is(response.tool_choice, "required");
  assert.equal(response.tools, [
    { type: "function", name: "f", parameters: {}, strict: null },
    { type: "function", name: "g", parameters: {}, strict: true },
  ]);
});

test("only_a_completed_response_has_completed_at_and_an_unfinished_one_has_no_usage", () => {
  for (const [status, completed] of [
    ["queued", null],
    ["in_progress", null],
    ["failed", null],
    ["incomplete", null],
    ["completed", NOW / 1000],
  ] as const) {
    const response = completeResponse({ status, output: undefined, usage: undefined }, { model: "m" }, NOW);
    assert.is(response.completed_at, completed, status);
    assert.equal(response.output, [], `${status}: output is a list (the SDK iterates it)`);
    assert.is(response.usage, null);
  }
  assert.is(completeResponse({ status: "completed", completed_at: 5 }, {}, NOW).completed_at, 5, "the engine's kept");
  assert.is(completeResponse({}, { background: true }, NOW).background, true);
});

test.run();
