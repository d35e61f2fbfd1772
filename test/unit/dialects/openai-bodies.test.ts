// The validation rule (docs/dialects.md): what the OpenAI service and the engines accept, the gateway
// accepts; what it refuses is a 400 naming the wrong field. One named case per rule, over the generated
// validators (scripts/correct-openai-spec.ts), and every body of the recorded corpus (test/fixtures/requests/).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { GatewayError } from "../../../src/core/errors.ts";
import { applyAzureBodyRules } from "../../../src/dialects/azure-openai/body-rules.ts";
import { checkOpenAIBody, type OpenAIBodySchema } from "../../../src/dialects/openai/validate.ts";

const test = suite("openai-bodies");
const user = (content: unknown) => ({ model: "m", input: [{ role: "user", content }] });
const chat = (extra: object) => ({ model: "m", messages: [{ role: "user", content: "hi" }], ...extra });

const ACCEPTED: Array<[string, OpenAIBodySchema, object]> = [
  ["responses_message_with_a_list_of_parts", "CreateResponse", user([{ type: "input_text", text: "Say hello." }])],
  [
    "responses_image_part_without_detail",
    "CreateResponse",
    user([{ type: "input_image", image_url: "https://example.com/a.png" }]),
  ],
  [
    "responses_function_tool_without_strict",
    "CreateResponse",
    { model: "m", input: "hi", tools: [{ type: "function", name: "f", parameters: { type: "object" } }] },
  ],
  [
    "responses_function_tool_without_parameters",
    "CreateResponse",
    { model: "m", input: "hi", tools: [{ type: "function", name: "f" }] },
  ],
  ["responses_max_output_tokens_below_16", "CreateResponse", { model: "m", input: "hi", max_output_tokens: 8 }],
  [
    "responses_tool_type_the_spec_does_not_know",
    "CreateResponse",
    { model: "m", input: "hi", tools: [{ type: "vendor_search", index: "x" }] },
  ],
  [
    "responses_item_type_the_spec_does_not_know",
    "CreateResponse",
    { model: "m", input: [{ type: "vendor_item", data: 1 }] },
  ],
  [
    "responses_function_call_and_its_output",
    "CreateResponse",
    {
      model: "m",
      input: [
        { type: "function_call", call_id: "c", name: "f", arguments: "{}" },
        { type: "function_call_output", call_id: "c", output: "42" },
      ],
    },
  ],
  ["responses_item_reference_without_type", "CreateResponse", { model: "m", input: [{ id: "msg_1" }] }],
  [
    "chat_video_url_part",
    "CreateChatCompletionRequest",
    {
      model: "m",
      messages: [{ role: "user", content: [{ type: "video_url", video_url: { url: "https://example.com/v.mp4" } }] }],
    },
  ],
  [
    "chat_audio_url_part",
    "CreateChatCompletionRequest",
    {
      model: "m",
      messages: [{ role: "user", content: [{ type: "audio_url", audio_url: { url: "https://example.com/a.wav" } }] }],
    },
  ],
  [
    "chat_function_tool_without_strict",
    "CreateChatCompletionRequest",
    chat({ tools: [{ type: "function", function: { name: "f" } }] }),
  ],
  [
    "chat_vllm_structural_tag_format",
    "CreateChatCompletionRequest",
    chat({ response_format: { type: "structural_tag", structures: [], triggers: [] } }),
  ],
];

for (const [name, schema, body] of ACCEPTED) {
  test(`accepts_${name}`, async () => {
    await checkOpenAIBody(structuredClone(body), schema);
  });
}

const REFUSED: Array<[string, OpenAIBodySchema, object, string, RegExp]> = [
  [
    "function_tool_without_name_names_name",
    "CreateResponse",
    { model: "m", input: "hi", tools: [{ type: "function", parameters: {} }] },
    "tools[0].name",
    /is required/,
  ],
  [
    "input_text_that_is_not_text",
    "CreateResponse",
    user([{ type: "input_text", text: 5 }]),
    "input[0].content[0].text",
    /must be string/,
  ],
  [
    "message_without_content",
    "CreateResponse",
    { model: "m", input: [{ role: "user" }] },
    "input[0].content",
    /is required/,
  ],
  [
    "chat_role_the_spec_does_not_know",
    "CreateChatCompletionRequest",
    { model: "m", messages: [{ role: "robot", content: "x" }] },
    "messages[0].role",
    /must be one of/,
  ],
  [
    "chat_image_part_without_url",
    "CreateChatCompletionRequest",
    { model: "m", messages: [{ role: "user", content: [{ type: "image_url", image_url: {} }] }] },
    "messages[0].content[0].image_url.url",
    /is required/,
  ],
  [
    "chat_json_schema_format_without_its_schema",
    "CreateChatCompletionRequest",
    chat({ response_format: { type: "json_schema" } }),
    "response_format.json_schema",
    /is required/,
  ],
  [
    "a_known_part_type_checked_as_itself",
    "CreateChatCompletionRequest",
    { model: "m", messages: [{ role: "user", content: [{ type: "text" }] }] },
    "messages[0].content[0].text",
    /is required/,
  ],
];

for (const [name, schema, body, target, message] of REFUSED) {
  test(`refuses_${name}`, async () => {
    const err = await checkOpenAIBody(structuredClone(body), schema).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.instance(err, GatewayError, "accepted");
    assert.is((err as GatewayError).code, "InvalidRequestBody");
    assert.is((err as GatewayError).target, target);
    assert.match((err as GatewayError).message, message);
  });
}

test("azure_routes_keep_azure's_floor_of_16_output_tokens", () => {
  assert.throws(
    () => applyAzureBodyRules({ model: "m", input: "hi", max_output_tokens: 8 }),
    (e: GatewayError) => e.target === "max_output_tokens" && /Expected a value >= 16, but got 8/.test(e.message),
  );
  applyAzureBodyRules({ model: "m", input: "hi", max_output_tokens: 16 });
});

// Bodies the SDKs and frameworks sent through the gateway (scripts/record-requests.ts writes them).
const CORPUS = join(import.meta.dirname, "../../fixtures/requests");
for (const file of readdirSync(CORPUS)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const recorded = JSON.parse(readFileSync(join(CORPUS, file), "utf8")) as { schema: OpenAIBodySchema; body: object };
  test(`accepts_recorded_${file.replace(/\.json$/, "")}`, async () => {
    await checkOpenAIBody(structuredClone(recorded.body), recorded.schema);
  });
}

test.run();
