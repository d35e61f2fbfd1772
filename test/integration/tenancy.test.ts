// Tenancy from another tenant's side (issue 32), each hole the probe found: an owner taken from a header
// that did not authenticate; streams cut just before their end charged only their prompt; background runs
// past token limits and max_parallel; pass-through routes' output never charged; other tenants' deployment
// names in errors and /info; the engine's key echoed in successful answers and stored rows. On sqlite and Redis.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { storesUnderTest } from "../helpers/redis.ts";
import { TestClock } from "../helpers/clock.ts";
import { EngineSim } from "../sim/engine.ts";

const KEYS = {
  TEAM_A_KEY: "team-a-key-0123456789",
  CUT_KEY: "cut-key-0123456789",
  CUT_RESPONSES_KEY: "cut-responses-key-0123456789",
  BACKGROUND_KEY: "background-key-0123456789",
  SERIAL_KEY: "serial-key-0123456789",
  MESSAGES_KEY: "messages-key-0123456789",
  ABANDON_KEY: "abandon-key-0123456789",
  CHAT_ONLY_KEY: "chat-only-key-0123456789",
  CHAT_ENGINE_KEY: "engine-key-of-chat-0123456789",
};
const GATEWAY_KEY = "gateway-key-0123456789";

interface Ctx {
  clock: TestClock;
  sim: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
// Every test runs on each store that keeps the limits' counters and the stored state: sqlite (one host's
// processes) and Redis (every pod's), where redis-server is installed (CI requires it).
const cases: Array<[string, (ctx: Ctx) => Promise<void>]> = [];
const test = (name: string, run: (ctx: Ctx) => Promise<void>) => void cases.push([name, run]);
const { stores, stopSuite } = storesUnderTest(["sqlite", "redis"]);

async function setUp(ctx: Ctx, store: string): Promise<void> {
  ctx.clock = new TestClock();
  ctx.sim = await new EngineSim().start();
  const file = join(mkdtempSync(join(tmpdir(), "aop-tenancy-")), "gateway.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    url: ${ctx.sim.url}
    api_key_env: CHAT_ENGINE_KEY
  - name: hidden-finance
    url: ${ctx.sim.url}
consumers:
  - name: team-a
    keys_env: [TEAM_A_KEY]
  - name: cut
    keys_env: [CUT_KEY]
    limits: { tokens_per_minute: 3000 }
  - name: cut-responses
    keys_env: [CUT_RESPONSES_KEY]
    limits: { tokens_per_minute: 3000 }
  - name: background
    keys_env: [BACKGROUND_KEY]
    limits: { tokens_per_minute: 3000 }
  - name: serial
    keys_env: [SERIAL_KEY]
    limits: { max_parallel: 1 }
  - name: messages
    keys_env: [MESSAGES_KEY]
    limits: { tokens_per_minute: 3000 }
  - name: abandon
    keys_env: [ABANDON_KEY]
    limits: { tokens_per_minute: 3000 }
  - name: chat-only
    keys_env: [CHAT_ONLY_KEY]
    deployments: [chat]
`,
  );
  ctx.logs = [];
  ctx.gw = await startGateway(
    ctx.sim.url,
    ["--config", file, "--api-key", GATEWAY_KEY, "--log-bodies", "true", "--store", store],
    ctx.logs,
    KEYS,
    ctx.clock.now,
  );
}

const post = (gw: RunningGateway, path: string, headers: Record<string, string>, body: unknown, signal?: AbortSignal) =>
  fetch(`${gw.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
const get = (gw: RunningGateway, path: string, headers: Record<string, string>) =>
  fetch(`${gw.url}${path}`, { headers });
const as = (key: string) => ({ "api-key": key });
const hi = [{ role: "user", content: "hi" }];

test("an_owner_comes_only_from_the_credential_that_authenticated", async ({ gw }) => {
  const teamA = as(KEYS.TEAM_A_KEY);
  const created = await post(gw, "/openai/v1/responses", teamA, { model: "chat", input: "mine" });
  assert.is(created.status, 200);
  const { id } = (await created.json()) as { id: string };
  const conversation = (await (await post(gw, "/openai/v1/conversations", teamA, {})).json()) as { id: string };
  assert.is((await get(gw, `/openai/v1/responses/${id}`, teamA)).status, 200);

  // Authenticated by the gateway's key as a bearer; the api-key header is chosen so that, taken as the
  // owner's credential, it would hash to team-a's owner.
  const forged = { authorization: `Bearer ${GATEWAY_KEY}`, "api-key": "consumer:team-a" };
  const reads = [
    await get(gw, `/openai/v1/responses/${id}`, forged),
    await get(gw, `/openai/v1/responses/${id}/input_items`, forged),
    await get(gw, `/openai/v1/conversations/${conversation.id}`, forged),
    await get(gw, `/openai/v1/conversations/${conversation.id}/items`, forged),
    await post(gw, "/openai/v1/responses", forged, { model: "chat", input: "next", previous_response_id: id }),
    await fetch(`${gw.url}/openai/v1/responses/${id}`, { method: "DELETE", headers: forged }),
    await fetch(`${gw.url}/openai/v1/conversations/${conversation.id}`, { method: "DELETE", headers: forged }),
  ];
  // A continuation of what the caller does not hold is previous_response_not_found (400), as OpenAI answers.
  assert.equal(
    reads.map((r) => r.status),
    [404, 404, 404, 404, 400, 404, 404],
  );
  assert.is(((await reads[4]!.json()) as { error: { code: string } }).error.code, "previous_response_not_found");
  assert.is((await get(gw, `/openai/v1/responses/${id}`, teamA)).status, 200, "still there for its owner");
  assert.is((await get(gw, `/openai/v1/conversations/${conversation.id}`, teamA)).status, 200);

  // Two credentials that name two callers: refused, never a guess.
  const both = { authorization: `Bearer ${GATEWAY_KEY}`, "api-key": KEYS.TEAM_A_KEY };
  assert.is((await get(gw, `/openai/v1/responses/${id}`, both)).status, 401);
});

test("the_metrics_answer_an_operator_key_never_a_consumers", async ({ gw }) => {
  for (const path of ["/metrics", "/metrics/engine"]) {
    const asConsumer = await get(gw, path, as(KEYS.TEAM_A_KEY));
    assert.is(asConsumer.status, 403, `${path} as a consumer`);
    assert.match(await asConsumer.text(), /metrics are for operators/);
    assert.is((await get(gw, path, as(GATEWAY_KEY))).status, 200, `${path} with a key of --api-key`);
    assert.is((await get(gw, path, {})).status, 401, `${path} without a key`);
  }
});

/** Streams `body` from `path`, reads `keep` events with content, then leaves; answers the tokens seen. */
async function readThenLeave(gw: RunningGateway, path: string, key: string, body: unknown, keep: number) {
  const controller = new AbortController();
  const res = await post(gw, path, as(key), body, controller.signal);
  if (res.status !== 200) return { status: res.status, tokens: 0 };
  let tokens = 0;
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    const events = text.split("\n\n");
    text = events.pop()!;
    tokens += events.filter((e) => /"content":"[^"]|"delta":"[^"]/.test(e)).length;
    if (tokens >= keep) break;
  }
  controller.abort();
  return { status: 200, tokens };
}

/** A stream of `n` one-word chunks whose engine then holds the connection open: no usage ever comes. */
const heldChatStream = (n: number) => ({
  sse: Array.from(
    { length: n },
    () =>
      `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content: " word" }, finish_reason: null }] })}\n\n`,
  ),
  stall: true,
});
const heldResponsesStream = (n: number) => ({
  sse: [
    `event: response.created\ndata: ${JSON.stringify({ type: "response.created", sequence_number: 0, response: { id: "r", object: "response", status: "in_progress", output: [] } })}\n\n`,
    ...Array.from(
      { length: n },
      (_, i) =>
        `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", sequence_number: i + 1, item_id: "m", output_index: 0, content_index: 0, delta: " word", logprobs: [] })}\n\n`,
    ),
  ],
  stall: true,
});

for (const [name, key, path, body, script] of [
  [
    "chat",
    KEYS.CUT_KEY,
    "/openai/v1/chat/completions",
    { model: "chat", messages: hi, max_tokens: 2500, stream: true },
    heldChatStream,
  ],
  [
    "responses",
    KEYS.CUT_RESPONSES_KEY,
    "/openai/v1/responses",
    { model: "chat", input: "hi", max_output_tokens: 2500, stream: true },
    heldResponsesStream,
  ],
] as const)
  test(`a_stream_left_just_before_its_end_is_charged_what_it_streamed_${name}`, async ({ gw, sim }) => {
    // Six rounds of reading 2,450 of 2,500 tokens and leaving, against 3,000 tokens a minute.
    let delivered = 0;
    const statuses: number[] = [];
    for (let round = 0; round < 6; round++) {
      sim.next(script(2500));
      const { status, tokens } = await readThenLeave(gw, path, key, body, 2450);
      statuses.push(status);
      delivered += tokens;
      if (status === 200) await sim.waitForAbort();
    }
    assert.equal(statuses, [200, 429, 429, 429, 429, 429]);
    assert.ok(delivered >= 2450 && delivered <= 3000, `tokens delivered in the minute: ${delivered}`);
  });

test("a_client_that_leaves_while_the_engine_works_keeps_its_reservation", async ({ gw, sim }) => {
  sim.next({ delayMs: 60_000, json: {} }); // the engine is still working when the client leaves
  const controller = new AbortController();
  const seen = sim.nextRequest();
  const left = post(
    gw,
    "/openai/v1/chat/completions",
    as(KEYS.ABANDON_KEY),
    { model: "chat", messages: hi, max_tokens: 2900 },
    controller.signal,
  ).catch((err: unknown) => err);
  await seen;
  controller.abort();
  assert.instance(await left, Error);
  await sim.waitForAbort();
  const next = await post(gw, "/openai/v1/chat/completions", as(KEYS.ABANDON_KEY), {
    model: "chat",
    messages: hi,
    max_tokens: 100,
  });
  assert.is(next.status, 429, "the 2,900 reserved for the abandoned call are still charged");
});

test("background_runs_take_their_reservation_and_settle_when_they_end", async ({ gw, sim }) => {
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const res = await post(gw, "/openai/v1/responses", as(KEYS.BACKGROUND_KEY), {
      model: "chat",
      input: "hi",
      max_output_tokens: 2290,
      background: true,
    });
    statuses.push(res.status);
    if (res.status === 200) {
      const { id } = (await res.json()) as { id: string };
      await untilDone(gw, id, KEYS.BACKGROUND_KEY);
    }
  }
  assert.equal(statuses, [200, 429, 429, 429, 429, 429, 429, 429]);
  assert.is(sim.requests.filter((r) => r.path === "/v1/responses").length, 1);
});

async function untilDone(gw: RunningGateway, id: string, key: string): Promise<Record<string, any>> {
  // The run's events end with its terminal one: the stream replay waits for it, no polling.
  const res = await get(gw, `/openai/v1/responses/${id}?stream=true`, as(key));
  await res.text();
  return (await (await get(gw, `/openai/v1/responses/${id}`, as(key))).json()) as Record<string, any>;
}

test("a_background_run_holds_its_parallel_slot_until_it_ends", async ({ gw, sim }) => {
  sim.next(heldResponsesStream(3)); // the first run's engine holds on
  const start = () =>
    post(gw, "/openai/v1/responses", as(KEYS.SERIAL_KEY), { model: "chat", input: "hi", background: true });
  const first = await start();
  assert.is(first.status, 200);
  const { id } = (await first.json()) as { id: string };
  const others = await Promise.all([start(), start(), start(), start()]);
  assert.equal(
    others.map((r) => r.status),
    [429, 429, 429, 429],
  );
  const chat = await post(gw, "/openai/v1/chat/completions", as(KEYS.SERIAL_KEY), { model: "chat", messages: hi });
  assert.is(chat.status, 429, "a foreground request waits for the run's slot too");
  assert.is((await post(gw, `/openai/v1/responses/${id}/cancel`, as(KEYS.SERIAL_KEY), {})).status, 200);
  await sim.waitForAbort();
  // The run ends just after the abort, and frees its slot as it settles: asked again until then (5 s at most).
  let after = 429;
  for (let i = 0; i < 500 && after === 429; i++) {
    const res = await post(gw, "/openai/v1/chat/completions", as(KEYS.SERIAL_KEY), { model: "chat", messages: hi });
    after = res.status;
    await res.arrayBuffer();
    if (after === 429) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.is(after, 200);
});

test("pass_through_routes_settle_the_usage_the_engine_reports", async ({ gw, sim, logs }) => {
  const body = { model: "chat", max_tokens: 2900, messages: hi };
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await post(gw, "/v1/messages", as(KEYS.MESSAGES_KEY), body);
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  assert.equal(statuses, [200, 429, 429, 429, 429]);
  assert.is(sim.requests.filter((r) => r.path === "/v1/messages").length, 1);
  await new Promise((resolve) => setImmediate(resolve));
  const line = logs.findLast((l) => l.msg === "request" && l.path === "/v1/messages" && l.status === 200);
  assert.is(line?.completionTokens, 2900, "the engine's output tokens are on the log line");
});

test("a_consumer_sees_only_the_deployments_it_may_use", async ({ gw }) => {
  const chatOnly = as(KEYS.CHAT_ONLY_KEY);
  const unknown = await post(gw, "/openai/v1/chat/completions", chatOnly, { model: "nope", messages: hi });
  assert.is(unknown.status, 404);
  const unknownText = await unknown.text();
  assert.match(unknownText, /chat/);
  assert.not.match(unknownText, /hidden-finance/);
  const hidden = await post(gw, "/openai/v1/chat/completions", chatOnly, { model: "hidden-finance", messages: hi });
  assert.is(hidden.status, 404);
  const missing = await post(gw, "/openai/v1/chat/completions", chatOnly, { messages: hi });
  assert.not.match(await missing.text(), /hidden-finance/);
  const info = await get(gw, "/info?api-version=2024-05-01-preview&model=hidden-finance", chatOnly);
  assert.is(info.status, 404);
  assert.not.match(await info.text(), /hidden-finance \(|sim-org/);
  assert.is((await get(gw, "/info?api-version=2024-05-01-preview&model=chat", chatOnly)).status, 200);
  // The gateway's own key sees them all.
  const all = await post(gw, "/openai/v1/chat/completions", as(GATEWAY_KEY), { model: "nope", messages: hi });
  assert.match(await all.text(), /hidden-finance/);
});

test("the_engines_key_never_reaches_a_client_in_a_successful_answer", async ({ gw, sim, logs }) => {
  const echoed = `Authorization: Bearer ${KEYS.CHAT_ENGINE_KEY}`;
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  const teamA = as(KEYS.TEAM_A_KEY);
  const answers: string[] = [];

  sim.next({
    json: {
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: echoed }, finish_reason: "stop" }],
    },
  });
  answers.push(await (await post(gw, "/openai/v1/chat/completions", teamA, { model: "chat", messages: hi })).text());

  // Split across two engine writes, as a stream may cut it anywhere.
  const half = Math.floor(echoed.length / 2) + 3;
  sim.next({
    sse: [chunk(echoed.slice(0, half)).slice(0, -2), "", `\n\n${chunk(echoed.slice(half))}`, "data: [DONE]\n\n"],
  });
  answers.push(
    await (await post(gw, "/openai/v1/chat/completions", teamA, { model: "chat", messages: hi, stream: true })).text(),
  );

  sim.next({
    json: {
      id: "resp_engine",
      object: "response",
      created_at: 1,
      status: "completed",
      model: "m",
      output: [
        {
          type: "message",
          id: "msg_engine",
          status: "completed",
          role: "assistant",
          content: [{ type: "output_text", text: echoed, annotations: [] }],
        },
      ],
      usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
    },
  });
  const stored = await post(gw, "/openai/v1/responses", teamA, { model: "chat", input: "hi" });
  const { id } = (await stored.clone().json()) as { id: string };
  answers.push(await stored.text());
  answers.push(await (await get(gw, `/openai/v1/responses/${id}`, teamA)).text());

  sim.next({ json: { tokens: [1, 2], count: 2, echo: echoed } });
  answers.push(await (await post(gw, "/tokenize", teamA, { model: "chat", prompt: "a b" })).text());
  sim.next({
    json: {
      id: "msg",
      type: "message",
      content: [{ type: "text", text: echoed }],
      usage: { input_tokens: 1, output_tokens: 2 },
    },
  });
  answers.push(await (await post(gw, "/v1/messages", teamA, { model: "chat", max_tokens: 5, messages: hi })).text());

  for (const answer of answers) assert.not.ok(answer.includes(KEYS.CHAT_ENGINE_KEY), answer.slice(0, 300));
  assert.ok(answers[0]!.includes("Bearer [redacted]"), "the rest of the answer is kept");
  await new Promise((resolve) => setImmediate(resolve));
  assert.not.ok(JSON.stringify(logs).includes(KEYS.CHAT_ENGINE_KEY), "nor in the log (--log-bodies)");
  assert.ok(sim.requests.some((r) => r.headers.authorization === `Bearer ${KEYS.CHAT_ENGINE_KEY}`));
});

for (const [name, storeOf] of stores) {
  const run = suite<Ctx>(`tenancy:${name}`);
  run.before(async (ctx) => setUp(ctx, await storeOf()));
  run.after(async (ctx) => {
    await ctx.gw.close();
    await ctx.sim.close();
  });
  run.before.each((ctx) => {
    ctx.sim.reset();
    ctx.clock.nextMinute(); // each test's limits in a window of their own
  });
  for (const [title, body] of cases) run(title, body);
  run.run();
}
stopSuite();
