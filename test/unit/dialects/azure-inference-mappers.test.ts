// The Azure AI Inference mappers, rule by rule (each case named, each failure reported on its own): Azure
// request -> OpenAI request, OpenAI answer -> Azure answer, embeddings both ways, model info. Every mapping
// rule was tested only over HTTP before; here each is one row.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { GatewayError } from "../../../src/core/errors.ts";
import { toOpenAIChatRequest } from "../../../src/dialects/azure-inference/mappers/chat-request.ts";
import {
  argumentsText,
  toAzureChatCompletions,
  toAzureFinishReason,
  toAzureUsage,
} from "../../../src/dialects/azure-inference/mappers/chat-response.ts";
import { createChatUpdateMapper } from "../../../src/dialects/azure-inference/mappers/chat-update.ts";
import {
  toAzureEmbeddingsResult,
  toOpenAIEmbeddingsRequest,
} from "../../../src/dialects/azure-inference/mappers/embeddings.ts";
import { splitModelId } from "../../../src/dialects/azure-inference/mappers/model-info.ts";

const test = suite("azure-inference-mappers");
const OPTS = { model: "org/m", extras: {} };
const user = (content: unknown): Record<string, unknown> => ({ messages: [{ role: "user", content }] });

const REQUESTS: Array<[string, object, (out: any) => void]> = [
  [
    "developer_becomes_system",
    { messages: [{ role: "developer", content: "be brief" }] },
    (o) => assert.equal(o.messages[0], { role: "system", content: "be brief" }),
  ],
  [
    "image_detail_kept",
    user([{ type: "image_url", image_url: { url: "https://x/a.png", detail: "low" } }]),
    (o) =>
      assert.equal(o.messages[0].content[0], {
        type: "image_url",
        image_url: { url: "https://x/a.png", detail: "low" },
      }),
  ],
  [
    "audio_data_url_becomes_input_audio",
    user([{ type: "audio_url", audio_url: { url: "data:audio/mp3;base64,SUQz" } }]),
    (o) =>
      assert.equal(o.messages[0].content[0], { type: "input_audio", input_audio: { data: "SUQz", format: "mp3" } }),
  ],
  [
    "tool_message_without_content_gets_an_empty_one",
    { messages: [{ role: "tool", tool_call_id: "c1" }] },
    (o) => assert.equal(o.messages[0], { role: "tool", content: "", tool_call_id: "c1" }),
  ],
  [
    "assistant_with_tool_calls_has_null_content",
    {
      messages: [
        { role: "assistant", tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{}" } }] },
      ],
    },
    (o) => assert.is(o.messages[0].content, null),
  ],
  [
    "assistant_without_anything_has_empty_content",
    { messages: [{ role: "assistant" }] },
    (o) => assert.is(o.messages[0].content, ""),
  ],
  [
    "sampling_fields_pass",
    { ...user("x"), temperature: 0.2, top_p: 0.9, seed: 4, max_tokens: 3, stop: ["\n"] },
    (o) => assert.equal([o.temperature, o.top_p, o.seed, o.max_tokens, o.stop], [0.2, 0.9, 4, 3, ["\n"]]),
  ],
  [
    "json_schema_format_kept",
    {
      ...user("x"),
      response_format: { type: "json_schema", json_schema: { name: "r", schema: { type: "object" }, strict: true } },
    },
    (o) =>
      assert.equal(o.response_format, {
        type: "json_schema",
        json_schema: { name: "r", schema: { type: "object" }, strict: true },
      }),
  ],
  [
    "named_tool_choice",
    { ...user("x"), tool_choice: { type: "function", function: { name: "f" } } },
    (o) => assert.equal(o.tool_choice, { type: "function", function: { name: "f" } }),
  ],
  ["model_is_the_engine's", user("x"), (o) => assert.is(o.model, "org/m")],
];

for (const [name, azure, check] of REQUESTS)
  test(`chat_request_${name}`, () => check(toOpenAIChatRequest(azure as never, OPTS)));

const REFUSED: Array<[string, object, string]> = [
  ["audio_output_modality", { ...user("x"), modalities: ["text", "audio"] }, "modalities"],
  [
    "audio_url_that_is_not_data",
    user([{ type: "audio_url", audio_url: { url: "https://x/a.wav" } }]),
    "messages[0].content[0].audio_url.url",
  ],
];
for (const [name, azure, target] of REFUSED) {
  test(`chat_request_refuses_${name}`, () => {
    assert.throws(
      () => toOpenAIChatRequest(azure as never, OPTS),
      (e: GatewayError) => e.code === "UnsupportedParameterValue" && e.target === target,
    );
  });
}

const FINISH: Array<[string | null | undefined, string | null]> = [
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["function_call", "tool_calls"],
  ["eos_token", "stop"],
  ["abort", "stop"],
  [null, null],
  [undefined, null],
];
for (const [engine, azure] of FINISH)
  test(`finish_reason_${engine}_is_${azure}`, () => assert.is(toAzureFinishReason(engine), azure));

test("usage_absent_is_zeros_and_total_derived", () => {
  assert.equal(toAzureUsage(undefined), { completion_tokens: 0, prompt_tokens: 0, total_tokens: 0 });
  assert.equal(toAzureUsage({ completion_tokens: 2, prompt_tokens: 3 } as never), {
    completion_tokens: 2,
    prompt_tokens: 3,
    total_tokens: 5,
  });
});

test("tool_arguments_as_objects_become_text", () => {
  assert.is(argumentsText({ city: "Paris" }), '{"city":"Paris"}');
  assert.is(argumentsText("{}"), "{}");
  assert.is(argumentsText(undefined), "{}");
});

test("chat_answer_defaults_id_created_and_model", () => {
  const out = toAzureChatCompletions(
    { choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "hi" } }] } as never,
    { model: "org/m", now: 7 },
  );
  assert.equal([out.id, out.created, out.model, out.choices[0]!.message.content], ["chatcmpl-7", 7, "org/m", "hi"]);
});

test("chat_answer_that_is_not_one_is_an_upstream_fault", () => {
  for (const body of [null, {}, { choices: [] }, { choices: [{ delta: {} }] }]) {
    assert.throws(
      () => toAzureChatCompletions(body as never, { model: "m", now: 1 }),
      (e: GatewayError) => e.code === "UpstreamInvalidResponse",
    );
  }
});

test("stream_update_carries_the_delta", () => {
  const map = createChatUpdateMapper({ model: "org/m", now: 9 });
  const update = map.map({
    id: "c",
    object: "chat.completion.chunk",
    created: 9,
    model: "org/m",
    choices: [{ index: 0, delta: { content: "He" }, finish_reason: null }],
  } as never) as any;
  assert.is(update.choices[0].delta.content, "He");
  assert.is(update.model, "org/m");
});

test("embeddings_request_asks_floats_or_base64_and_keeps_dimensions", () => {
  const out = toOpenAIEmbeddingsRequest(
    { input: ["a"], dimensions: 4, encoding_format: "float" } as never,
    OPTS,
  ) as any;
  assert.equal([out.model, out.input, out.dimensions], ["org/m", ["a"], 4]);
});

test("embeddings_result_orders_by_index_and_sums_usage", () => {
  const result = toAzureEmbeddingsResult(
    [
      {
        object: "list",
        model: "m",
        data: [
          { object: "embedding", index: 1, embedding: [2] },
          { object: "embedding", index: 0, embedding: [1] },
        ],
        usage: { prompt_tokens: 3, total_tokens: 3 },
      },
    ] as never,
    { model: "org/m", encoding: undefined, requestId: "r1" },
  );
  assert.equal(
    result.data.map((d) => d.embedding),
    [[1], [2]],
  );
  assert.is(result.usage.prompt_tokens, 3);
  assert.is(result.id, "r1");
});

const MODEL_IDS: Array<[string, string, string]> = [
  ["Qwen/Qwen2.5-0.5B-Instruct", "Qwen", "Qwen2.5-0.5B-Instruct"],
  ["/data/models/my-model", "unknown", "my-model"],
  ["tiny-qwen2", "unknown", "tiny-qwen2"],
  ["org/name/", "org", "name"],
];
for (const [id, provider, name] of MODEL_IDS)
  test(`model_id_${id}`, () => assert.equal(splitModelId(id), { provider, name }));

test.run();
