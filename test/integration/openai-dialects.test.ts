// The edges of the OpenAI-bodied dialects on the wire (plain fetch): api-version rules, Azure-only
// fields, the error envelope of each dialect, engine errors normalised, streams that fail after
// their headers, and what crosses to the engine.
import * as assert from "uvu/assert";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { gatewaySuite, postJson } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";
import { chatAnswer } from "../sim/engine.ts";

const test = gatewaySuite("openai-dialects");
const CHAT = { model: "d", messages: [{ role: "user", content: "hi" }] };

test("v1_api_version_is_optional_v1_or_preview", async ({ gw }) => {
  for (const query of ["", "?api-version=v1", "?api-version=preview"]) {
    assert.is((await postJson(`${gw.url}/openai/v1/chat/completions${query}`, CHAT)).status, 200, query);
  }
  const dated = await postJson(`${gw.url}/openai/v1/chat/completions?api-version=2024-10-21`, CHAT);
  assert.is(dated.status, 400);
  assert.equal(Object.keys(dated.json.error).sort(), ["code", "message", "param", "type"]);
  assert.is(dated.json.error.code, "UnsupportedApiVersionValue");
  assert.is(dated.json.error.type, "error");
  assert.is(dated.json.error.param, "api-version");
  assert.match(dated.json.error.message, /'v1' or 'preview'/);
});

test("deployment_routes_require_a_dated_api_version", async ({ gw, sim }) => {
  const url = `${gw.url}/openai/deployments/my-deployment/chat/completions`;
  const missing = await postJson(url, CHAT);
  assert.is(missing.status, 400);
  assert.is(missing.json.error.code, "MissingApiVersionParameter");
  assert.match(missing.json.error.message, /YYYY-MM-DD or YYYY-MM-DD-preview/);
  for (const bad of ["latest", "v1", "2024-13-01", "2024-10-21-beta", "20241021"]) {
    const res = await postJson(`${url}?api-version=${bad}`, CHAT);
    assert.is(res.status, 400, bad);
    assert.is(res.json.error.code, "UnsupportedApiVersionValue", bad);
  }
  // Versions Azure has not published yet are accepted: Azure adds them every few months.
  for (const good of ["2024-10-21", "2025-04-01-preview", "2031-01-31"]) {
    assert.is((await postJson(`${url}?api-version=${good}`, CHAT)).status, 200, good);
  }
  assert.is(sim.requests.filter((r) => r.method === "POST").length, 3);
});

test("the_path_deployment_wins_over_the_body_model", async ({ gw, sim }) => {
  sim.models = ["org/small", "org/large"];
  const res = await postJson(`${gw.url}/openai/deployments/org%2Flarge/chat/completions?api-version=2024-10-21`, {
    ...CHAT,
    model: "org/small",
  });
  assert.is(res.status, 200);
  assert.is(sim.last("/v1/chat/completions").body.model, "org/large");
  const noModel = await postJson(`${gw.url}/openai/deployments/org%2Fsmall/embeddings?api-version=2024-10-21`, {
    input: "x",
  });
  assert.is(noModel.status, 200, "the body needs no model on a deployment route");
  assert.is(sim.last("/v1/embeddings").body.model, "org/small");
  const unknown = await postJson(`${gw.url}/openai/deployments/nope/chat/completions?api-version=2024-10-21`, CHAT);
  assert.is(unknown.status, 404);
  assert.is(unknown.json.error.code, "DeploymentNotFound");
  assert.match(unknown.json.error.message, /'nope' does not exist here\. Served: org\/small, org\/large/);
});

test("azure_only_fields", async ({ gw, sim }) => {
  const onYourData = await postJson(`${gw.url}/openai/v1/chat/completions`, {
    ...CHAT,
    data_sources: [{ type: "azure_search", parameters: {} }],
  });
  assert.is(onYourData.status, 400);
  assert.is(onYourData.json.error.code, "UnsupportedParameter");
  assert.is(onYourData.json.error.param, "data_sources");
  assert.match(onYourData.json.error.message, /On Your Data/);
  const withContext = await postJson(`${gw.url}/openai/deployments/d/chat/completions?api-version=2024-10-21`, {
    ...CHAT,
    user_security_context: { end_user_id: "u" },
  });
  assert.is(withContext.status, 200);
  assert.not.ok("user_security_context" in sim.last("/v1/chat/completions").body);
  // The engine's own API passes what it is given.
  await postJson(`${gw.url}/v1/chat/completions`, { ...CHAT, user_security_context: { end_user_id: "u" } });
  assert.equal(sim.last("/v1/chat/completions").body.user_security_context, { end_user_id: "u" });
});

test("schema_violations_name_the_field_before_any_upstream_call", async ({ gw, sim }) => {
  const cases: Array<[string, object, string]> = [
    ["/openai/v1/chat/completions", { model: "d", messages: [{ role: "wizard", content: "x" }] }, "messages[0]"],
    [
      "/openai/v1/chat/completions",
      { model: "d", messages: [{ role: "user", content: "x" }], temperature: "hot" },
      "temperature",
    ],
    ["/v1/embeddings", { model: "m" }, "input"],
    ["/v1/completions", { model: "m", prompt: "x", max_tokens: -1 }, "max_tokens"],
    ["/v1/responses", { model: "m", input: "x", max_output_tokens: "many" }, "max_output_tokens"],
  ];
  for (const [path, body, field] of cases) {
    const res = await postJson(`${gw.url}${path}`, body);
    assert.is(res.status, 400, path);
    const param = res.json.error.param as string;
    assert.ok(param.startsWith(field), `${path}: param ${param}, want ${field}`);
  }
  assert.is(sim.requests.filter((r) => r.method === "POST").length, 0);
});

test("each_dialect_answers_in_its_own_envelope", async ({ gw }) => {
  const azure = await fetch(`${gw.url}/openai/v1/nope`);
  const azureBody = (await azure.json()) as any;
  assert.is(azure.status, 404);
  assert.equal(Object.keys(azureBody.error).sort(), ["code", "message", "type"]);
  assert.is(azureBody.error.type, "error");
  assert.is(azure.headers.get("x-ms-error-code"), "NotFound");
  assert.match(azureBody.error.message, /has no route GET \/openai\/v1\/nope/);

  const engine = await fetch(`${gw.url}/v1/nope`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "x",
  });
  const engineBody = (await engine.json()) as any;
  assert.is(engine.status, 415);
  assertOpenAISchema("ErrorResponse", engineBody);
  assert.equal(engineBody.error, {
    message: engineBody.error.message,
    type: "invalid_request_error",
    param: null,
    code: "unsupported_media_type",
  });

  const inference = await fetch(`${gw.url}/nope`);
  const inferenceBody = (await inference.json()) as any;
  assert.equal(Object.keys(inferenceBody.error).sort(), ["code", "message"]);
  for (const res of [azure, engine, inference]) {
    assert.ok(res.headers.get("x-request-id"));
    assert.is(res.headers.get("apim-request-id"), res.headers.get("x-request-id"));
  }
});

test("engine_errors_are_normalised_in_the_dialect_envelope", async ({ gw, sim }) => {
  sim.next({
    status: 400,
    json: {
      object: "error",
      message: "This model's maximum context length is 4096 tokens.",
      type: "BadRequestError",
      param: null,
      code: 400,
    },
  }); // vLLM
  const vllm = await postJson(`${gw.url}/openai/v1/chat/completions`, CHAT);
  assert.is(vllm.status, 400);
  assert.equal(vllm.json.error, {
    code: "BadRequestError",
    message: "This model's maximum context length is 4096 tokens.",
    type: "error",
  });

  sim.next({
    status: 422,
    json: { error: "Input validation error: `inputs` must have less than 4096 tokens", error_type: "validation" },
  }); // TGI
  const tgi = await postJson(`${gw.url}/v1/chat/completions`, CHAT);
  assert.is(tgi.status, 422);
  assertOpenAISchema("ErrorResponse", tgi.json);
  assert.is(tgi.json.error.code, "validation");
  assert.match(tgi.json.error.message, /less than 4096 tokens/);

  sim.next({ status: 503, headers: { "retry-after": "9" }, text: "overloaded" });
  const busy = await postJson(`${gw.url}/openai/deployments/d/embeddings?api-version=2024-10-21`, {
    model: "d",
    input: "x",
  });
  assert.is(busy.status, 503);
  assert.is(busy.headers.get("retry-after"), "9");
  assert.is(busy.json.error.type, "error");
});

test("a_non_object_answer_is_a_502", async ({ gw, sim }) => {
  sim.next({ json: ["not", "a", "completion"] });
  const res = await postJson(`${gw.url}/openai/v1/completions`, { model: "d", prompt: "x" });
  assert.is(res.status, 502);
  assert.is(res.json.error.code, "UpstreamInvalidResponse");
});

test("streams_are_re_framed_clean", async ({ gw, sim }) => {
  // Keep-alive comments, CRLF line ends and a two-line data field from the engine.
  const chunk = (content: string) =>
    JSON.stringify({
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    });
  const split = JSON.stringify(
    {
      id: "c",
      object: "chat.completion.chunk",
      created: 1,
      model: "m",
      choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    },
    null,
    1,
  ).split("\n");
  sim.next({
    sse: [
      ": keep-alive\r\n\r\n",
      `data: ${chunk("a")}\r\n\r\n`,
      `data: ${chunk("b")}\r\n\r\n`,
      `${split.map((l) => `data: ${l}`).join("\n")}\n\n`,
      "data: [DONE]\n\n",
    ],
  });
  const raw = await readRaw(`${gw.url}/v1/chat/completions`, { ...CHAT, stream: true });
  assert.is(raw.status, 200);
  assert.not.ok(raw.text.includes("\r"));
  assert.not.ok(raw.text.includes(":" + " keep-alive"));
  const lines = raw.text.split("\n\n").filter(Boolean);
  assert.is(lines.length, 4);
  assert.ok(lines.every((l) => l.startsWith("data: ") && !l.slice(6).includes("\n")));
  assert.is(lines.at(-1), "data: [DONE]");
  assertOpenAISchema("CreateChatCompletionStreamResponse", JSON.parse(lines[2]!.slice(6)));
});

test("a_chat_stream_that_fails_ends_with_one_error_event_and_a_cut", async ({ gw, sim }) => {
  for (const [path, type] of [
    ["/openai/v1/chat/completions", "error"],
    ["/v1/chat/completions", "server_error"],
  ] as const) {
    const first = chatAnswer({ ...CHAT, stream: true }).sse!.slice(0, 3);
    sim.next({ sse: first, gapMs: 20, cut: true }); // the gap lets the pieces arrive before the reset
    const raw = await readRaw(`${gw.url}${path}`, { ...CHAT, stream: true });
    const events = raw.text.split("\n\n").filter(Boolean);
    const last = JSON.parse(events.at(-1)!.slice(6));
    assert.is(events.length, 4, path);
    assert.is(last.error.type, type, path);
    assert.match(
      last.error.code,
      path.startsWith("/v1") ? /^upstream_(unavailable|stream_error)$/ : /^Upstream(Unavailable|StreamError)$/,
    );
    assert.not.ok(raw.text.includes("[DONE]"));
    assert.ok(raw.broken, "the connection is cut, so clients cannot take the stream as complete");
  }
});

test("a_responses_stream_that_fails_ends_with_an_error_event", async ({ gw, sim }) => {
  const event = (type: string, n: number, fields: object) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n, ...fields })}\n\n`;
  sim.next({
    sse: [
      event("response.output_text.delta", 0, {
        item_id: "m",
        output_index: 0,
        content_index: 0,
        delta: "Hel",
        logprobs: [],
      }),
      event("error", 1, { code: "server_error", message: "engine fell over", param: null }),
    ],
  });
  const raw = await readRaw(`${gw.url}/openai/v1/responses`, { model: "d", input: "x", stream: true });
  const events = raw.text.split("\n\n").filter(Boolean);
  assert.is(events.length, 2);
  assert.ok(events[0]!.startsWith("event: response.output_text.delta\ndata: "));
  const [name, data] = events[1]!.split("\n");
  assert.is(name, "event: error");
  const error = JSON.parse(data!.slice(6));
  assertOpenAISchema("ResponseErrorEvent", error);
  assert.equal(error, {
    type: "error",
    code: "UpstreamStreamError",
    message: "engine fell over",
    param: null,
    sequence_number: 2,
  });
  assert.ok(raw.broken);

  sim.next({ sse: [event("response.created", 0, { response: {} })], cut: false });
  const short = await readRaw(`${gw.url}/v1/responses`, { model: "d", input: "x", stream: true });
  assert.match(short.text, /event: error\ndata: .*"code":"UpstreamStreamError"/);
});

test("credentials_and_cookies_never_reach_the_engine", async ({ gw, sim }) => {
  for (const path of [
    "/openai/v1/embeddings",
    "/v1/embeddings",
    "/openai/deployments/d/embeddings?api-version=2024-10-21",
  ]) {
    await postJson(
      `${gw.url}${path}`,
      { model: "d", input: "x" },
      { authorization: "Bearer secret", "api-key": "secret", cookie: "s=1", "openai-organization": "org" },
    );
    const headers = sim.last("/v1/embeddings").headers;
    for (const name of ["authorization", "api-key", "cookie", "openai-organization"])
      assert.is(headers[name], undefined, `${path}: ${name}`);
  }
});

test.run();
