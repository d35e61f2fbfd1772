// The engine's surface beyond the modelled operations, through the gateway: reranking, tokenizing,
// Anthropic's Messages API (plain and streamed), audio (multipart, also on the Azure OpenAI routes), a
// route the engine lacks, the body limit, a client that leaves mid-stream, and the engines' own metrics.
import OpenAI, { AzureOpenAI, toFile } from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { postJson, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const KEY = "gw-key";
const AUTH = { "api-key": KEY };
interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
}
const test = suite<Ctx>("engine-routes");

test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.gw = await startGateway(ctx.sim.url, ["--api-key", KEY, "--body-limit", "64kb"]);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => ctx.sim.reset());

test("json_routes_reach_the_engine_as_sent", async ({ gw, sim }) => {
  const rerank = {
    model: "sim-org/sim-model-1",
    query: "capital of France",
    documents: ["Paris is the capital.", "Berlin is a city."],
    top_n: 1,
  };
  for (const path of ["/v1/rerank", "/rerank", "/v2/rerank"]) {
    const res = await postJson(`${gw.url}${path}`, rerank, AUTH);
    assert.is(res.status, 200, path);
    assert.equal(res.json.results, [{ index: 0, relevance_score: 1, document: { text: "Paris is the capital." } }]);
    const seen = sim.last(path);
    assert.equal(seen.body, rerank);
    assert.is(seen.headers["api-key"], undefined, "the client's key stays at the gateway");
    assert.ok(seen.headers["x-request-id"]);
  }
  const tokens = await postJson(`${gw.url}/tokenize`, { model: "m", prompt: "one two three" }, AUTH);
  assert.equal(tokens.json.tokens, [100, 101, 102]);
  assert.is((await postJson(`${gw.url}/tokenize`, { prompt: "x" })).status, 401, "the gateway's key is required");
});

test("cohere_rerank_translated_for_a_tei_reranker", async ({ gw, sim }) => {
  sim.tei = true;
  sim.noResponses = true; // TEI serves /rerank in its own shape, no /v1/rerank
  const body = {
    model: "reranker",
    query: "capital of France",
    documents: ["Berlin is a city.", "Paris is the capital.", "Rome."],
    top_n: 2,
    return_documents: true,
  };
  for (const path of ["/v1/rerank", "/v2/rerank"]) {
    const res = await postJson(`${gw.url}${path}`, body, AUTH);
    assert.is(res.status, 200, JSON.stringify(res.json));
    assert.equal(res.json.results, [
      { index: 0, relevance_score: 1, document: { text: "Berlin is a city." } },
      { index: 1, relevance_score: 0.5, document: { text: "Paris is the capital." } },
    ]);
    assert.equal(sim.last("/rerank").body, {
      query: "capital of France",
      texts: body.documents,
      return_text: true,
      truncate: true,
    });
  }
  assert.is(sim.requests.filter((r) => r.path === "/v1/rerank").length, 1, "asked the Cohere route once, then TEI's");
});

test("anthropic_messages_plain_and_streamed", async ({ gw }) => {
  const body = { model: "m", max_tokens: 3, messages: [{ role: "user", content: "hi" }] };
  const plain = await postJson(`${gw.url}/v1/messages`, body, AUTH);
  assert.is(plain.json.content[0].text, "The quick brown");
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
  const text = await res.text();
  assert.match(text, /^event: message_start\n/);
  assert.match(text, /event: message_stop\n/);
});

test("a_client_that_leaves_a_streamed_route_stops_the_engine", async ({ gw, sim }) => {
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/v1/messages`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/json" },
    body: JSON.stringify({
      model: "m",
      max_tokens: 200,
      stream: true,
      sim_gap_ms: 20,
      messages: [{ role: "user", content: "hi" }],
    }),
    signal: controller.signal,
  });
  const reader = res.body!.getReader();
  await reader.read();
  controller.abort();
  assert.ok(await sim.waitForAbort(3000), "the engine request was not aborted");
});

test("audio_multipart_on_v1_and_the_azure_routes", async ({ gw, sim }) => {
  const audio = new Uint8Array(4000).fill(7);
  const v1 = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEY, maxRetries: 0 });
  const direct = await v1.audio.transcriptions.create({ file: await toFile(audio, "a.wav"), model: "whisper-large" });
  assert.is(direct.text, "heard 4000 bytes of a.wav as whisper-large"); // /v1: the engine's API, as sent
  const azure = new AzureOpenAI({
    endpoint: gw.url,
    apiKey: KEY,
    apiVersion: "2024-10-21",
    deployment: "my-whisper",
    maxRetries: 0,
  });
  const viaDeployment = await azure.audio.transcriptions.create({
    file: await toFile(audio, "b.wav"),
    model: "my-whisper",
  });
  assert.is(viaDeployment.text, "heard 4000 bytes of b.wav as sim-org/sim-model-1"); // the deployment's engine model
  assert.is(sim.last().path, "/v1/audio/transcriptions");
  const azureV1 = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: KEY, maxRetries: 0 });
  assert.match(
    (await azureV1.audio.transcriptions.create({ file: await toFile(audio, "c.wav"), model: "my-whisper" })).text,
    /as sim-org\/sim-model-1$/,
  );
});

test("streamed_bodies_over_the_limit_are_a_413", async ({ gw, sim }) => {
  const big = new Uint8Array(100 * 1024);
  const form = new FormData();
  form.set("model", "m");
  form.set("file", new Blob([big]), "big.wav");
  const res = await fetch(`${gw.url}/v1/audio/transcriptions`, { method: "POST", headers: AUTH, body: form });
  assert.is(res.status, 413);
  assert.match(((await res.json()) as any).error.message, /64 KB/);
  const chunked = await fetch(`${gw.url}/v1/audio/transcriptions`, {
    method: "POST",
    headers: { ...AUTH, "content-type": "application/octet-stream" },
    duplex: "half",
    body: new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(10 * 1024));
        c.close();
      },
    }),
  } as RequestInit);
  assert.is(chunked.status, 413);
  assert.ok(
    sim.requests.every((r) => r.path !== "/v1/audio/transcriptions" || r.aborted || r.body === ""),
    "nothing whole reached the engine",
  );
});

test("a_route_the_engine_lacks_is_named", async ({ gw }) => {
  const res = await postJson(`${gw.url}/v1/score`, { model: "m", text_1: "a", text_2: "b" }, AUTH);
  assert.is(res.status, 404);
  assert.is(res.json.error.code, "operation_not_supported");
  assert.match(res.json.error.message, /does not serve POST http:\/\/127\.0\.0\.1:\d+\/v1\/score/);
});

test("the_engines_metrics_labelled_by_deployment_and_replica", async ({ gw, sim }) => {
  const res = await fetch(`${gw.url}/metrics/engine`, { headers: AUTH });
  assert.is(res.status, 200);
  const text = await res.text();
  const replica = `127.0.0.1:${sim.port}`;
  assert.ok(text.includes(`engine_metrics_up{deployment="default",replica="${replica}"} 1`), text);
  assert.ok(
    text.includes(
      `vllm:num_requests_waiting{deployment="default",replica="${replica}",model_name="sim-org/sim-model-1"} 2`,
    ),
    text,
  );
  assert.is(text.match(/# TYPE vllm:gpu_cache_usage_perc gauge/g)?.length, 1);
});

test.run();
