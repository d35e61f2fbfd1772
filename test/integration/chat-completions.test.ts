import * as assert from "uvu/assert";
import { isUnexpected } from "@azure-rest/ai-inference";
import { assertAzureSchema } from "../helpers/contract.ts";
import { API, azureClient, postJson, gatewaySuite } from "../helpers/gateway.ts";

const test = gatewaySuite("chat-completions");

const user = (content: unknown) => ({ messages: [{ role: "user", content }] });

test("azure_js_client_gets_a_chat_completion", async ({ gw, sim }) => {
  const res = await azureClient(gw.url)
    .path("/chat/completions")
    .post({ body: { messages: [{ role: "user", content: "hi" }], max_tokens: 4 } });
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assert.is(res.status, "200");
  assertAzureSchema("ChatCompletions", res.body);
  assert.is(res.body.choices[0]!.message.content, "The quick brown fox");
  assert.is(res.body.choices[0]!.finish_reason, "length");
  assert.is(res.body.usage.completion_tokens, 4);
  const sent = sim.last("/v1/chat/completions");
  assert.is(sent.body.model, "sim-org/sim-model-1");
  assert.is(sent.body.max_tokens, 4);
  assert.not.ok(sent.headers["api-key"], "inbound api-key is not forwarded");
  assert.not.ok(sent.headers.authorization, "inbound Authorization is not forwarded");
});

for (const prefix of ["", "/models", "/api/models"]) {
  test(`served_under_${prefix || "root"}`, async ({ gw }) => {
    const res = await postJson(`${gw.url}${prefix}/chat/completions?${API}`, user("hi"));
    assert.is(res.status, 200);
    assertAzureSchema("ChatCompletions", res.json);
  });
}

test("every_request_field_is_mapped", async ({ gw, sim }) => {
  const body = {
    messages: [
      { role: "system", content: "be brief" },
      { role: "developer", content: "really brief" },
      {
        role: "user",
        content: [
          { type: "text", text: "what is this" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" } },
          { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
          { type: "audio_url", audio_url: { url: "data:audio/mp3;base64,SUQz" } },
        ],
      },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "c1" },
    ],
    temperature: 0.2,
    top_p: 0.9,
    frequency_penalty: 0.5,
    presence_penalty: -0.5,
    max_tokens: 3,
    seed: 42,
    stop: ["\n"],
    modalities: ["text"],
    response_format: { type: "json_schema", json_schema: { name: "r", schema: { type: "object" }, strict: true } },
    tools: [{ type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } }],
    tool_choice: "auto",
    model: "sim-org/sim-model-1",
  };
  const res = await postJson(`${gw.url}/chat/completions?${API}`, body);
  assert.is(res.status, 200, JSON.stringify(res.json));
  const sent = sim.last("/v1/chat/completions").body;
  assert.equal(sent.messages[0], { role: "system", content: "be brief" });
  assert.equal(sent.messages[1], { role: "system", content: "really brief" }, "developer -> system");
  assert.equal(sent.messages[2].content[1], {
    type: "image_url",
    image_url: { url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" },
  });
  assert.equal(sent.messages[2].content[2], { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } });
  assert.equal(sent.messages[2].content[3], { type: "input_audio", input_audio: { data: "SUQz", format: "mp3" } });
  assert.equal(sent.messages[3], {
    role: "assistant",
    content: null,
    tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
  });
  assert.equal(sent.messages[4], { role: "tool", content: "", tool_call_id: "c1" });
  assert.is(sent.temperature, 0.2);
  assert.is(sent.top_p, 0.9);
  assert.is(sent.frequency_penalty, 0.5);
  assert.is(sent.presence_penalty, -0.5);
  assert.is(sent.seed, 42);
  assert.equal(sent.stop, ["\n"]);
  assert.is(sent.modalities, undefined, "text-only modalities are the default and not forwarded");
  assert.equal(sent.response_format, {
    type: "json_schema",
    json_schema: { name: "r", schema: { type: "object" }, strict: true },
  });
  assert.equal(sent.tools, [
    { type: "function", function: { name: "f", description: "d", parameters: { type: "object" } } },
  ]);
  assert.is(sent.tool_choice, "auto");
});

test("tool_calls_are_returned", async ({ gw }) => {
  const res = await postJson(`${gw.url}/chat/completions?${API}`, {
    ...user("weather?"),
    tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }],
    tool_choice: { type: "function", function: { name: "get_weather" } },
  });
  assert.is(res.status, 200);
  assertAzureSchema("ChatCompletions", res.json);
  assert.is(res.json.choices[0].finish_reason, "tool_calls");
  assert.equal(res.json.choices[0].message.tool_calls[0].function, {
    name: "get_weather",
    arguments: '{"city":"Paris"}',
  });
});

test("model_comes_from_body_then_deployment_header", async ({ gw, sim }) => {
  sim.models = ["a/one", "b/two"];
  await postJson(`${gw.url}/chat/completions?${API}`, { ...user("x"), model: "b/two" });
  assert.is(sim.last("/v1/chat/completions").body.model, "b/two");
  await postJson(`${gw.url}/chat/completions?${API}`, user("x"), { "azureml-model-deployment": "b/two" });
  assert.is(sim.last("/v1/chat/completions").body.model, "b/two");
  await postJson(`${gw.url}/chat/completions?${API}`, user("x"));
  assert.is(sim.last("/v1/chat/completions").body.model, "a/one", "first served model by default");
  sim.models = ["only/one"];
  await postJson(`${gw.url}/chat/completions?${API}`, user("x"), { "azureml-model-deployment": "my-deployment" });
  assert.is(sim.last("/v1/chat/completions").body.model, "only/one", "a deployment name aliases the only served model");
});

test("engine_quirks_are_normalised", async ({ gw, sim }) => {
  sim.next({
    json: {
      id: "x",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          finish_reason: "eos_token",
          message: {
            role: "assistant",
            content: "ok",
            reasoning_content: "thought",
            tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: { a: 1 } } }],
          },
        },
      ],
    },
  });
  const res = await postJson(`${gw.url}/chat/completions?${API}`, user("x"));
  assert.is(res.status, 200);
  assertAzureSchema("ChatCompletions", res.json);
  const choice = res.json.choices[0];
  assert.is(choice.finish_reason, "stop", "TGI eos_token -> stop");
  assert.is(choice.message.reasoning_content, "thought");
  assert.is(choice.message.tool_calls[0].function.arguments, '{"a":1}', "TGI object arguments -> string");
  assert.equal(res.json.usage, { completion_tokens: 0, prompt_tokens: 0, total_tokens: 0 }, "usage is always present");
});

test("usage_details_get_azure_defaults", async ({ gw, sim }) => {
  sim.next({
    json: {
      id: "x",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        { index: 0, finish_reason: "function_call", message: { role: "assistant", content: "ok", reasoning: "r" } },
      ],
      usage: {
        prompt_tokens: 3,
        completion_tokens: 5,
        total_tokens: 8,
        completion_tokens_details: { reasoning_tokens: 2 },
        prompt_tokens_details: { cached_tokens: 1 },
      },
    },
  });
  const res = await postJson(`${gw.url}/chat/completions?${API}`, user("x"));
  assertAzureSchema("ChatCompletions", res.json);
  assert.is(res.json.choices[0].finish_reason, "tool_calls");
  assert.is(res.json.choices[0].message.reasoning_content, "r", "newer vLLM `reasoning`");
  assert.equal(res.json.usage.completion_tokens_details, { audio_tokens: 0, reasoning_tokens: 2, total_tokens: 5 });
  assert.equal(res.json.usage.prompt_tokens_details, { audio_tokens: 0, cached_tokens: 1 });
});

test.run();
