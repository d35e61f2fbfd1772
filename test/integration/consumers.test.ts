// Consumers and their limits (issue 26) through the `openai` SDK and the Azure Inference client: keys per
// consumer in every dialect (`--api-key` still anonymous), requests and tokens per minute with Azure's
// x-ratelimit-* headers and the SDK error classes, settlement by the answer's usage (streams included, the
// usage chunk kept from a client that did not ask), quotas as 403s, parallel requests, allow-lists in calls
// and listings, a refused request never reaching the engine, usage in metrics and logs, keys in neither.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { estimateTokens } from "../../src/core/consumers/limits.ts";
import { azureClient, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { TestClock } from "../helpers/clock.ts";
import { EngineSim } from "../sim/engine.ts";

const KEYS = {
  TEAM_A_KEY: "team-a-key-0123456789",
  TEAM_A_KEY_NEXT: "team-a-key-next-0123456789",
  TOKENS_KEY: "tokens-key-0123456789",
  QUOTA_KEY: "quota-key-0123456789",
  SERIAL_KEY: "serial-key-0123456789",
  CHAT_ONLY_KEY: "chat-only-key-0123456789",
};

interface Ctx {
  clock: TestClock;
  sim: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("consumers");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  const file = join(mkdtempSync(join(tmpdir(), "aop-consumers-")), "gateway.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    url: ${ctx.sim.url}
  - name: embed
    url: ${ctx.sim.url}
consumers:
  - name: team-a
    keys_env: [TEAM_A_KEY, TEAM_A_KEY_NEXT]
    limits: { requests_per_minute: 3 }
  - name: tokens
    keys_env: [TOKENS_KEY]
    limits: { tokens_per_minute: 100 }
  - name: quota
    keys_env: [QUOTA_KEY]
    limits: { tokens_per_day: 60 }
  - name: serial
    keys_env: [SERIAL_KEY]
    limits: { max_parallel: 1 }
  - name: chat-only
    keys_env: [CHAT_ONLY_KEY]
    deployments: [chat]
`,
  );
  ctx.logs = [];
  ctx.clock = new TestClock();
  ctx.gw = await startGateway(
    ctx.sim.url,
    ["--config", file, "--api-key", "anonymous-key"],
    ctx.logs,
    KEYS,
    ctx.clock.now,
  );
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => {
  ctx.sim.reset();
  ctx.clock.nextMinute(); // each test's requests in a window of their own
});

const openai = (gw: RunningGateway, key: string) =>
  new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
const hi = [{ role: "user" as const, content: "hi" }];
const enginePosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST").length;

test("a_consumer_key_works_in_every_dialect_and_a_wrong_one_is_a_401", async ({ gw, sim, logs }) => {
  const viaV1 = await openai(gw, KEYS.TEAM_A_KEY)
    .chat.completions.create({ model: "chat", messages: hi })
    .withResponse();
  assert.is(viaV1.response.headers.get("x-ratelimit-limit-requests"), "3");
  assert.is(viaV1.response.headers.get("x-ratelimit-remaining-requests"), "2");
  assert.match(viaV1.response.headers.get("x-ratelimit-reset-requests")!, /^\d+s$/);
  const azure = azureClient(gw.url, KEYS.TEAM_A_KEY_NEXT); // the rotation key, as api-key and bearer
  const res = await azure.path("/chat/completions").post({ body: { messages: hi, model: "chat" } as never });
  assert.is(res.status, "200");
  assert.is(res.headers["x-ratelimit-remaining-requests"], "1", "both keys are one consumer");
  const anonymous = await openai(gw, "anonymous-key").chat.completions.create({ model: "chat", messages: hi });
  assert.ok(anonymous.choices[0]);
  const wrong = await openai(gw, "nobody")
    .chat.completions.create({ model: "chat", messages: hi })
    .catch((e) => e);
  assert.instance(wrong, OpenAI.AuthenticationError);
  assert.is(enginePosts(sim), 3);
  const lines = logs.filter((l) => l.msg === "request");
  assert.ok(
    lines.some((l) => l.consumer === "team-a"),
    "the consumer is on the log line",
  );
  assert.not.ok(JSON.stringify(logs).includes(KEYS.TEAM_A_KEY), "no key in the log");
});

test("requests_per_minute_then_a_429_the_sdk_reads", async ({ gw, sim, clock }) => {
  const client = openai(gw, KEYS.TEAM_A_KEY);
  // Three requests a minute: three answered, the fourth refused.
  let refused: unknown;
  let answered = 0;
  for (let i = 0; i < 4 && !refused; i++)
    refused = await client.chat.completions.create({ model: "chat", messages: hi }).then(
      () => void answered++,
      (e: unknown) => e,
    );
  assert.is(answered, 3);
  assert.instance(refused, OpenAI.RateLimitError);
  const err = refused as InstanceType<typeof OpenAI.RateLimitError>;
  const after = Number(err.headers?.get("retry-after"));
  assert.is(after, 30, "the rest of the minute: the test's clock stands at its middle");
  assert.is(Number(err.headers?.get("retry-after-ms")), after * 1000);
  assert.match(err.message, /consumer 'team-a'.*limit of 3 requests per minute/);
  // As every answer to a limited consumer, the 429 says where its counters stand.
  assert.is(err.headers?.get("x-ratelimit-limit-requests"), "3");
  assert.is(err.headers?.get("x-ratelimit-remaining-requests"), "0");
  assert.is(err.headers?.get("x-ratelimit-reset-requests"), "30s");
  assert.is(enginePosts(sim), 3, "the refused request never reached the engine");
  clock.nextMinute();
  const next = await client.chat.completions.create({ model: "chat", messages: hi }).withResponse();
  assert.is(next.response.headers.get("x-ratelimit-remaining-requests"), "2", "the next minute frees the budget");
});

test("tokens_are_reserved_then_settled_by_usage", async ({ gw, sim }) => {
  const client = openai(gw, KEYS.TOKENS_KEY);
  const body = { model: "chat", messages: hi, max_tokens: 27 };
  const reserved = estimateTokens(body, "chat");
  assert.is(reserved.prompt + reserved.output, 35, "the reservation: the prompt's estimate and max_tokens");
  const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
  const answer = (id: string) => ({
    json: {
      id,
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage,
    },
  });
  sim.next(answer("a")).next(answer("b"));
  const first = await client.chat.completions.create(body).withResponse();
  const remainingFirst = Number(first.response.headers.get("x-ratelimit-remaining-tokens"));
  const second = await client.chat.completions.create(body).withResponse();
  const remainingSecond = Number(second.response.headers.get("x-ratelimit-remaining-tokens"));
  assert.is(remainingSecond, remainingFirst - 8, "the first was charged its 8 tokens, not the 35 reserved");
});

test("a_stream_is_charged_by_its_usage_which_the_client_did_not_ask_for", async ({ gw, sim }) => {
  const client = openai(gw, KEYS.TOKENS_KEY);
  const before = Number(
    (
      await client.chat.completions.create({ model: "chat", messages: hi, max_tokens: 1 }).withResponse()
    ).response.headers.get("x-ratelimit-remaining-tokens"),
  );
  const stream = await client.chat.completions.create({ model: "chat", messages: hi, max_tokens: 4, stream: true });
  const chunks: any[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.not.ok(
    chunks.some((c) => c.usage),
    "no usage chunk for a client that did not ask",
  );
  assert.equal(sim.last("/v1/chat/completions").body.stream_options, { include_usage: true });
  const after = await client.chat.completions.create({ model: "chat", messages: hi, max_tokens: 1 }).withResponse();
  // The simulator's usage: its prompt count of what it received, and max_tokens words.
  const prompt = JSON.stringify(sim.last("/v1/chat/completions").body.messages).length >> 2;
  const charged = prompt + 1 + (prompt + 4); // the first request, then the stream
  // `before` and `after` both hold one reservation of the same size: the difference is what was charged.
  assert.is(Number(after.response.headers.get("x-ratelimit-remaining-tokens")), before - charged);
});

test("a_spent_quota_is_a_403_naming_it_and_when_it_resets", async ({ gw, sim }) => {
  const client = openai(gw, KEYS.QUOTA_KEY);
  let refused: unknown;
  for (let i = 0; i < 10 && !refused; i++)
    refused = await client.chat.completions.create({ model: "chat", messages: hi, max_tokens: 10 }).then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.instance(refused, OpenAI.PermissionDeniedError);
  assert.match((refused as Error).message, /quota of 60 tokens per day; it resets at \d{4}-\d\d-\d\dT00:00:00/);
  const posts = enginePosts(sim);
  await client.chat.completions.create({ model: "chat", messages: hi, max_tokens: 10 }).catch(() => {});
  assert.is(enginePosts(sim), posts, "refused before the engine");
});

test("max_parallel_refuses_a_second_request_while_one_is_in_flight", async ({ gw, sim }) => {
  const client = openai(gw, KEYS.SERIAL_KEY);
  const stream = await client.chat.completions.create({
    model: "chat",
    messages: hi,
    stream: true,
    max_tokens: 5,
    sim_gap_ms: 40,
  } as never);
  const second = await client.chat.completions.create({ model: "chat", messages: hi }).catch((e: unknown) => e);
  assert.instance(second, OpenAI.RateLimitError);
  assert.match((second as Error).message, /1 requests in flight/);
  for await (const _chunk of stream as unknown as AsyncIterable<unknown>);
  // The slot is given back when the first response closes.
  let again: unknown = second;
  for (let i = 0; i < 50 && again instanceof Error; i++)
    again = await client.chat.completions.create({ model: "chat", messages: hi }).catch((e: unknown) => e);
  assert.not.instance(again, Error);
  assert.ok(sim.calls.length >= 2);
});

test("an_allow_list_hides_the_other_deployments", async ({ gw }) => {
  const client = openai(gw, KEYS.CHAT_ONLY_KEY);
  const refused = await client.embeddings.create({ model: "embed", input: "x" }).catch((e: unknown) => e);
  assert.instance(refused, OpenAI.NotFoundError);
  const ids: string[] = [];
  for await (const model of client.models.list()) ids.push(model.id);
  assert.equal(ids, ["chat"]);
  const all: string[] = [];
  for await (const model of openai(gw, KEYS.TEAM_A_KEY).models.list()) all.push(model.id);
  assert.equal(all.sort(), ["chat", "embed"]);
});

test("usage_by_consumer_in_metrics", async ({ gw }) => {
  await openai(gw, KEYS.CHAT_ONLY_KEY).chat.completions.create({ model: "chat", messages: hi, max_tokens: 2 });
  const text = await fetch(`${gw.url}/metrics`, { headers: { "api-key": "anonymous-key" } }).then((r) => r.text());
  assert.match(text, /gateway_tokens_total\{consumer="chat-only",deployment="chat",kind="output"\} \d+/);
  assert.match(text, /gateway_consumer_requests_total\{consumer="chat-only",deployment="chat",status="200"\} \d+/);
});

test.run();
