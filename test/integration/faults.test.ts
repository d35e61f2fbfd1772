// Faults told truthfully and safely (issue 23): an engine that echoes its credentials, a 200 that is an
// error, bodies the JSON grammar allows but nothing should pass (deep nesting, 1e400), encoded bodies,
// methods no route has, a client that leaves before its answer, and the retry headers of every 429/503.
import { gzipSync } from "node:zlib";
import * as assert from "uvu/assert";
import { API, gatewaySuite, postJson } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";
import { EngineSim } from "../sim/engine.ts";

const ENGINE_KEY = "engine-key-never-shown-7";
const GATEWAY_KEY = "gw-key-1";
const test = gatewaySuite("faults", ["--upstream-api-key", ENGINE_KEY, "--api-key", GATEWAY_KEY]);

const AUTH = { "api-key": GATEWAY_KEY };
const CHAT = { model: "d", messages: [{ role: "user", content: "hi" }] };
/** One chat route per dialect. */
const CHAT_ROUTES = [
  `/chat/completions?${API}`,
  "/openai/v1/chat/completions",
  "/openai/deployments/d/chat/completions?api-version=2024-10-21",
  "/v1/chat/completions",
];
const chatPosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST").length;

test("an_engine_that_echoes_credentials_never_hands_them_out", async ({ gw, sim, logs }) => {
  const echo = `Invalid header 'Authorization: Bearer ${ENGINE_KEY}' (client key ${GATEWAY_KEY})`;
  for (const route of CHAT_ROUTES) {
    sim.next({
      status: 401,
      json: { error: { message: echo, type: "authentication_error", param: null, code: null } },
    });
    const plain = await postJson(`${gw.url}${route}`, CHAT, AUTH);
    assert.is(plain.status, 401, route);
    const text = JSON.stringify(plain.json);
    assert.ok(text.includes("Invalid header"), `${route}: the engine's words are kept`);
    assert.not.ok(text.includes(ENGINE_KEY) || text.includes(GATEWAY_KEY), `${route}: ${text}`);

    sim.next({ sse: [`data: ${JSON.stringify({ error: { message: echo } })}\n\n`] });
    const streamed = await readRaw(`${gw.url}${route}`, { ...CHAT, stream: true }, AUTH);
    assert.ok(streamed.text.includes("Invalid header"), route);
    assert.not.ok(
      streamed.text.includes(ENGINE_KEY) || streamed.text.includes(GATEWAY_KEY),
      `${route}: ${streamed.text}`,
    );
  }
  sim.next({ status: 500, text: `<html>proxy error for Bearer ${ENGINE_KEY}</html>` });
  const page = await postJson(`${gw.url}/v1/chat/completions`, CHAT, AUTH);
  assert.not.ok(JSON.stringify(page.json).includes(ENGINE_KEY));
  const logged = JSON.stringify(logs);
  assert.ok(logged.includes("Invalid header"));
  assert.not.ok(logged.includes(ENGINE_KEY) || logged.includes(GATEWAY_KEY), "nor in the logs");
});

test("a_200_whose_body_is_an_error_is_a_502", async ({ gw, sim }) => {
  for (const route of CHAT_ROUTES) {
    sim.next({ json: { error: { message: "out of memory", type: "server_error", code: 500 } } });
    const res = await postJson(`${gw.url}${route}`, CHAT, AUTH);
    assert.is(res.status, 502, route);
    assert.match(JSON.stringify(res.json), /out of memory/);
  }
});

test("deep_nesting_and_infinite_numbers_are_a_400_before_the_engine", async ({ gw, sim }) => {
  const deep = `${'{"a":'.repeat(5000)}"x"${"}".repeat(5000)}`; // written as text: the test's own JSON.stringify would overflow
  const nested = await postJson(
    `${gw.url}/v1/chat/completions`,
    `${JSON.stringify(CHAT).slice(0, -1)},"vendor_field":${deep}}`,
    AUTH,
  );
  assert.is(nested.status, 400);
  assert.match(nested.json.error.message, /nests deeper than 64 levels/);
  const huge = await postJson(
    `${gw.url}/openai/v1/chat/completions`,
    '{"model":"d","messages":[{"role":"user","content":"hi"}],"max_tokens":1e400}',
    AUTH,
  );
  assert.is(huge.status, 400);
  assert.is(huge.json.error.param, "max_tokens");
  assert.is(chatPosts(sim), 0);
});

test("encoded_bodies_are_decoded_or_named", async ({ gw, sim }) => {
  const post = (body: Uint8Array | string, encoding: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...AUTH, "content-type": "application/json", "content-encoding": encoding },
      body,
    });
  const zipped = await post(gzipSync(JSON.stringify(CHAT)), "gzip");
  assert.is(zipped.status, 200);
  assert.is(sim.last("/v1/chat/completions").body.messages[0].content, "hi");
  const lying = await post(JSON.stringify(CHAT), "gzip");
  assert.is(lying.status, 400);
  assert.match(((await lying.json()) as any).error.message, /not valid gzip/);
  const unknown = await post(JSON.stringify(CHAT), "compress");
  assert.is(unknown.status, 415);
  assert.match(((await unknown.json()) as any).error.message, /Content-Encoding 'compress'/);
});

test("every_method_is_answered_in_an_envelope", async ({ gw }) => {
  for (const [path, status] of [
    ["/v1/chat/completions", 405],
    ["/openai/v1/models", 405],
    ["/nowhere", 404],
  ] as const) {
    const res = await fetch(`${gw.url}${path}`, { method: "PROPFIND", headers: AUTH });
    assert.is(res.status, status, path);
    assert.ok(((await res.json()) as any).error.message, path);
    if (status === 405) assert.ok(res.headers.get("allow"));
  }
});

test("a_client_that_leaves_before_its_answer_is_499_in_log_and_metrics", async ({ gw, sim, logs }) => {
  sim.next({ delayMs: 2000, json: {} });
  const controller = new AbortController();
  const pending = fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify(CHAT),
    signal: controller.signal,
  }).catch(() => undefined);
  while (chatPosts(sim) === 0) await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  await pending;
  let line: Record<string, any> | undefined;
  while (!(line = logs.find((l) => l.msg === "request" && l.path === "/v1/chat/completions")))
    await new Promise((r) => setTimeout(r, 10));
  assert.is(line.status, 499);
  assert.is(line.clientAborted, true);
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: AUTH })).text();
  assert.match(metrics, /route="\/v1\/chat\/completions",status="499"/);
});

test("every_429_and_503_says_when_to_retry_within_a_minute", async ({ gw, sim }) => {
  const cases: Array<[object, string, string]> = [
    [{ status: 429, headers: { "retry-after": "7" }, json: { error: { message: "slow down" } } }, "7", "7000"],
    [{ status: 429, headers: { "retry-after": "3600" }, json: { error: { message: "slow down" } } }, "60", "60000"],
    [{ status: 503, json: { error: { message: "busy" } } }, "5", "5000"],
  ];
  for (const [script, seconds, ms] of cases) {
    sim.next(script);
    const res = await postJson(`${gw.url}/openai/v1/chat/completions`, CHAT, AUTH);
    assert.is(res.headers.get("retry-after"), seconds);
    assert.is(res.headers.get("retry-after-ms"), ms);
  }
});

test.run();
