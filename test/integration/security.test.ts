import * as assert from "uvu/assert";
import { isUnexpected } from "@azure-rest/ai-inference";
import { API, azureClient, postJson, gatewaySuite } from "../helpers/gateway.ts";

const ENGINE_KEY = "sk-engine-secret-123";
const test = gatewaySuite("security", [
  "--api-key",
  "key-one, key-two",
  "--upstream-api-key",
  ENGINE_KEY,
  "--max-concurrent",
  "2",
  "--queue-timeout",
  "0",
]);

const chat = { messages: [{ role: "user", content: "hi" }] };

test("azure_js_client_with_the_right_key_gets_through", async ({ gw, sim }) => {
  const res = await azureClient(gw.url, "key-two").path("/chat/completions").post({ body: chat });
  assert.not.ok(isUnexpected(res));
  const sent = sim.last("/v1/chat/completions");
  assert.is(sent.headers.authorization, `Bearer ${ENGINE_KEY}`, "the engine gets its own key");
  assert.is(sent.headers["api-key"], undefined, "the inbound key is not forwarded");
});

test("azure_js_client_with_a_wrong_key_gets_401", async ({ gw, sim }) => {
  const res = await azureClient(gw.url, "key-three").path("/chat/completions").post({ body: chat });
  assert.ok(isUnexpected(res));
  assert.is(res.status, "401");
  assert.is((res.body as any).error.code, "Unauthorized");
  assert.is(sim.calls.length, 0);
});

test("either_header_works_and_health_stays_open", async ({ gw }) => {
  assert.is((await postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" })).status, 200);
  assert.is(
    (await postJson(`${gw.url}/chat/completions?${API}`, chat, { authorization: "Bearer key-one" })).status,
    200,
  );
  assert.is((await postJson(`${gw.url}/chat/completions?${API}`, chat)).status, 401);
  assert.is((await fetch(`${gw.url}/info?${API}`)).status, 401);
  assert.is((await fetch(`${gw.url}/health`)).status, 200);
});

test("engine_key_never_reaches_a_client", async ({ gw, sim }) => {
  sim.next({
    status: 401,
    json: { error: { message: "Invalid API key", type: "authentication_error", param: null, code: null } },
  });
  const res = await postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" });
  assert.not.ok(JSON.stringify(res.json).includes(ENGINE_KEY));
  assert.not.ok([...res.headers.values()].some((v) => v.includes(ENGINE_KEY)));
});

test("model_and_deployment_cannot_redirect_the_upstream", async ({ gw, sim }) => {
  for (const model of ["http://169.254.169.254/latest", "//evil.example/x", "../../admin"]) {
    await postJson(
      `${gw.url}/chat/completions?${API}`,
      { ...chat, model },
      { "api-key": "key-one", "azureml-model-deployment": "http://evil.example" },
    );
    const sent = sim.last();
    assert.is(sent.path, "/v1/chat/completions", "the path is fixed");
  }
  assert.ok(
    sim.calls.every((r) => r.path === "/v1/chat/completions"),
    "no call went anywhere else",
  );
});

test("concurrency_cap_answers_429_with_retry_after", async ({ gw, sim }) => {
  sim.next({
    delayMs: 300,
    json: {
      id: "a",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "x" } }],
    },
  });
  sim.next({
    delayMs: 300,
    json: {
      id: "a",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "x" } }],
    },
  });
  const first = sim.nextRequest();
  const slow = [postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" })];
  await first;
  const second = sim.nextRequest();
  slow.push(postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" }));
  await second; // both in flight at the engine
  const third = await postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" });
  assert.is(third.status, 429);
  assert.is(third.json.error.code, "TooManyRequests");
  assert.ok(third.headers.get("retry-after"));
  assert.equal(
    (await Promise.all(slow)).map((r) => r.status),
    [200, 200],
  );
  assert.is(
    (await postJson(`${gw.url}/chat/completions?${API}`, chat, { "api-key": "key-one" })).status,
    200,
    "slots are released",
  );
});

test.run();
