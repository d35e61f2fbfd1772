import * as assert from "uvu/assert";
import { isUnexpected } from "@azure-rest/ai-inference";
import { assertAzureSchema } from "../helpers/contract.ts";
import { API, azureClient, postJson, gatewaySuite, startGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const test = gatewaySuite("errors", ["--first-byte-timeout", "300ms", "--body-limit", "64kb"]);

const chat = { messages: [{ role: "user", content: "hi" }] };

function assertAzureError(res: { status: number; headers: Headers; json: any }, status: number, code: string): void {
  assert.is(res.status, status, JSON.stringify(res.json));
  assertAzureSchema("Azure.Core.Foundations.ErrorResponse", res.json);
  assert.is(res.json.error.code, code);
  assert.is(res.headers.get("x-ms-error-code"), code);
  assert.ok(res.headers.get("x-request-id"));
}

test("api_version_is_required_and_checked", async ({ gw, sim }) => {
  assertAzureError(await postJson(`${gw.url}/chat/completions`, chat), 400, "MissingApiVersionParameter");
  const bad = await postJson(`${gw.url}/chat/completions?api-version=2023-01-01`, chat);
  assertAzureError(bad, 400, "UnsupportedApiVersionValue");
  assert.match(bad.json.error.message, /2024-05-01-preview/);
  for (const v of [
    "2024-04-01-preview",
    "2024-05-01-preview",
    "2025-02-01-preview",
    "2025-04-01",
    "2025-05-01",
    "2025-05-01-preview",
    "2025-05-15-preview",
  ]) {
    assert.is((await postJson(`${gw.url}/chat/completions?api-version=${v}`, chat)).status, 200, v);
  }
  assert.is(
    sim.requests.filter((r) => r.path === "/v1/chat/completions").length,
    7,
    "rejected requests never reach the engine",
  );
});

test("extra_parameters_error_drop_pass_through", async ({ gw, sim }) => {
  const body = { ...chat, n: 2, logprobs: true };
  const rejected = await postJson(`${gw.url}/chat/completions?${API}`, body);
  assertAzureError(rejected, 400, "ExtraParametersNotAllowed");
  assert.match(rejected.json.error.message, /'n', 'logprobs'/);
  assert.is((await postJson(`${gw.url}/chat/completions?${API}`, body, { "extra-parameters": "drop" })).status, 200);
  assert.is(sim.last("/v1/chat/completions").body.n, undefined);
  assert.is(
    (await postJson(`${gw.url}/chat/completions?${API}`, body, { "extra-parameters": "pass-through" })).status,
    200,
  );
  assert.is(sim.last("/v1/chat/completions").body.n, 2);
  assert.is(sim.last("/v1/chat/completions").body.logprobs, true);
  assertAzureError(
    await postJson(`${gw.url}/chat/completions?${API}`, body, { "extra-parameters": "allow-all" }),
    400,
    "InvalidExtraParametersHeader",
  );
});

test("extra_parameters_depend_on_api_version", async ({ gw }) => {
  const body = { ...chat, user_security_context: { application_name: "app" } };
  assertAzureError(
    await postJson(`${gw.url}/chat/completions?api-version=2025-04-01`, body),
    400,
    "ExtraParametersNotAllowed",
  );
  assert.is((await postJson(`${gw.url}/chat/completions?api-version=2025-05-01`, body)).status, 200);
});

test("schema_violations_name_the_field", async ({ gw, sim }) => {
  const cases: Array<[unknown, string]> = [
    [{ messages: [] }, "messages"],
    [{ messages: [{ role: "user" }] }, "messages[0].content"],
    [{ messages: [{ role: "wizard", content: "x" }] }, "messages[0].role"],
    [{ messages: [{ role: "user", content: [{ type: "text", text: 1 }] }] }, "messages[0].content[0].text"],
    [{ messages: [{ role: "tool", content: "x" }] }, "messages[0].tool_call_id"],
    [{ ...chat, temperature: 3 }, "temperature"],
    [{ ...chat, max_tokens: 1.5 }, "max_tokens"],
    [{ ...chat, max_tokens: 2 ** 31 }, "max_tokens"], // int32 format, checked by the emitted validators
    [
      { ...chat, response_format: { type: "json_schema", json_schema: { name: "x" } } },
      "response_format.json_schema.schema",
    ],
    [{ ...chat, tool_choice: "sometimes" }, "tool_choice"],
    [{ ...chat, stop: "\n" }, "stop"],
  ];
  for (const [body, target] of cases) {
    const res = await postJson(`${gw.url}/chat/completions?${API}`, body);
    assertAzureError(res, 400, "InvalidRequestBody");
    assert.is(res.json.error.target, target, JSON.stringify(res.json));
    assert.ok(res.json.error.message.includes(target), res.json.error.message);
  }
  assert.is(sim.calls.length, 0);
});

test("audio_output_is_422", async ({ gw }) => {
  assertAzureError(
    await postJson(`${gw.url}/chat/completions?${API}`, { ...chat, modalities: ["text", "audio"] }),
    422,
    "UnsupportedParameterValue",
  );
});

test("framework_errors_are_azure_shaped", async ({ gw }) => {
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, "{not json"), 400, "InvalidJson");
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, "[1,2]"), 400, "InvalidRequestBody");
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, "x".repeat(70_000)), 413, "PayloadTooLarge");
  const text = await fetch(`${gw.url}/chat/completions?${API}`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: "hi",
  });
  assert.is(text.status, 415);
  assert.is(text.headers.get("x-ms-error-code"), "UnsupportedMediaType");
  const missing = await fetch(`${gw.url}/nope?${API}`);
  assert.is(missing.status, 404);
  assert.is(missing.headers.get("x-ms-error-code"), "NotFound");
  const wrong = await fetch(`${gw.url}/chat/completions?${API}`, { method: "GET" });
  assert.is(wrong.status, 405);
  assert.is(wrong.headers.get("x-ms-error-code"), "MethodNotAllowed");
  assert.match(wrong.headers.get("allow") ?? "", /POST/);
  const wrongUnderPrefix = await fetch(`${gw.url}/models/info?${API}`, { method: "DELETE" });
  assert.is(wrongUnderPrefix.status, 405);
});

test("engine_errors_keep_status_and_become_azure_shaped", async ({ gw, sim }) => {
  sim.next({
    status: 400,
    json: {
      error: {
        message: "This model's maximum context length is 1024 tokens",
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      },
    },
  });
  const openai = await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assertAzureError(openai, 400, "ContextLengthExceeded");
  assert.is(openai.json.error.target, "messages");
  sim.next({
    status: 422,
    json: {
      error: "Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096",
      error_type: "validation",
    },
  });
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 422, "Validation");
  sim.next({
    status: 404,
    json: { object: "error", message: "The model `x` does not exist.", type: "NotFoundError", param: null, code: 404 },
  });
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 404, "NotFoundError");
  sim.next({ status: 500, text: "Internal Server Error" });
  const text = await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assertAzureError(text, 502, "UpstreamError");
});

test("retry_after_is_kept_on_429_and_503", async ({ gw, sim }) => {
  sim.next({
    status: 429,
    headers: { "retry-after": "7" },
    json: { error: { message: "slow down", type: "rate_limit", param: null, code: null } },
  });
  const limited = await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assertAzureError(limited, 429, "RateLimit");
  assert.is(limited.headers.get("retry-after"), "7");
  sim.next({ status: 503, headers: { "retry-after": "3" }, text: "loading" });
  const loading = await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assert.is(loading.status, 503);
  assert.is(loading.headers.get("retry-after"), "3");
});

test("engine_timeout_is_504_and_broken_bodies_502", async ({ gw, sim }) => {
  sim.next({ delayMs: 1000, json: {} });
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 504, "UpstreamTimeout");
  sim.next({ text: '{"choices": [', headers: { "content-type": "application/json" } });
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 502, "UpstreamInvalidResponse");
  sim.next({ json: { unexpected: true } });
  assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 502, "UpstreamInvalidResponse");
});

test("engine_gone_after_it_was_ready_is_502_and_not_ready_at_once", async () => {
  const sim = await new EngineSim().start();
  const gw = await startGateway(sim.url);
  try {
    assert.is((await fetch(`${gw.url}/ready`)).status, 200);
    await sim.close();
    assertAzureError(await postJson(`${gw.url}/chat/completions?${API}`, chat), 502, "UpstreamUnavailable");
    const ready = await fetch(`${gw.url}/ready`);
    assert.is(ready.status, 503, "the refused connection turned readiness at once, within the check interval");
    assert.match(
      ((await ready.json()) as any).error.message,
      /^The engine is not ready \(for \d+ s\): The engine refused the connection/,
    );
    assert.is((await fetch(`${gw.url}/health`)).status, 200);
  } finally {
    await gw.close();
  }
});

test("azure_js_client_surfaces_errors", async ({ gw }) => {
  const res = await azureClient(gw.url)
    .path("/chat/completions")
    .post({ body: { messages: [] } });
  assert.ok(isUnexpected(res));
  assert.is(res.status, "400");
  assert.is((res.body as any).error.code, "InvalidRequestBody");
});

test("request_ids_are_echoed", async ({ gw, sim }) => {
  const res = await fetch(`${gw.url}/chat/completions?${API}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-ms-client-request-id": "abc-123" },
    body: JSON.stringify(chat),
  });
  assert.is(res.headers.get("x-ms-client-request-id"), "abc-123");
  const id = res.headers.get("x-request-id");
  assert.ok(id);
  assert.is(sim.last("/v1/chat/completions").headers["x-request-id"], id);
});

test.run();
