// Replica choice by what the engines hold (core/routing): three simulated replicas with a prefix KV cache
// (test/sim/kv-cache.ts) behind a `routing: prefix` deployment and three more behind `least-loaded`. Judged
// by what the engines report: the prompt tokens they took from their cache, and the requests each saw.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { postJson, startGateway, untilStatus, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";
import { anchorOf, hashString, prefixBlocks } from "../../src/core/routing/prefix.ts";
import { chatFacts } from "../../src/core/routing/prompt.ts";
import { rendezvous } from "../../src/core/routing/router.ts";

interface Ctx {
  prefix: EngineSim[];
  least: EngineSim[];
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("routing");

/** Thirteen system prompts of ~1k tokens; each replica's cache holds about seven. */
const PROMPTS = 13;
const KV = { capacityTokens: 7 * 1100, prefillMsPerToken: 0.01, maxRunning: 4 };
const system = (i: number) => `System prompt ${i}: ${"you answer briefly and precisely. ".repeat(120)}`;
const chat = (model: string, i: number, question: string, extra: object = {}, systemOf = system) => ({
  model,
  messages: [
    { role: "system" as const, content: systemOf(i) },
    { role: "user" as const, content: question },
  ],
  ...extra,
});

/** PROMPTS system prompts that rendezvous places at most five to a replica, so each home's cache holds
 * its own: placement by hash is even only on average, and with a few prefixes one replica can be home to
 * more than its cache holds (overflow answers load, not cache size). */
function placedPrompts(sims: EngineSim[]): string[] {
  const candidates = sims.map((s) => {
    const label = new URL(s.url).host;
    return { label, labelHash: hashString(label), inFlight: 0, engineLoad: undefined, isIn: true };
  });
  const homes = new Map<string, number>();
  const prompts: string[] = [];
  for (let n = 0; prompts.length < PROMPTS; n++) {
    const prompt = system(n);
    const blocks = prefixBlocks(chatFacts(chat("x", n, "q")).prompt!);
    const home = rendezvous(candidates, anchorOf(blocks, undefined)!)[0]!.label;
    if ((homes.get(home) ?? 0) >= 5) continue;
    homes.set(home, (homes.get(home) ?? 0) + 1);
    prompts.push(prompt);
  }
  return prompts;
}
const urls = (sims: EngineSim[]) => `[${sims.map((s) => s.url).join(", ")}]`;
const deploymentOf = (gw: RunningGateway, name: string) => gw.gateway.deps.deployments.find(name)!;

test.before(async (ctx) => {
  const sims = () => Promise.all([0, 1, 2].map(() => new EngineSim().withKvCache(KV).start()));
  ctx.prefix = await sims();
  ctx.least = await sims();
  const file = join(mkdtempSync(join(tmpdir(), "routing-")), "deployments.yaml");
  writeFileSync(
    file,
    [
      "deployments:",
      `  - { name: prefix, urls: ${urls(ctx.prefix)}, routing: prefix, engine_metrics: off }`,
      `  - { name: least, urls: ${urls(ctx.least)}, routing: least-loaded, engine_metrics: off }`,
      `  - { name: watched, urls: ${urls(ctx.prefix)} }`,
      "",
    ].join("\n"),
  );
  ctx.logs = [];
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", file, "--models-cache", "60s"], ctx.logs);
  await untilStatus(`${ctx.gw.url}/ready`, 200);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await Promise.all([...ctx.prefix, ...ctx.least].map((s) => s.close()));
});
test.before.each((ctx) => {
  for (const sim of [...ctx.prefix, ...ctx.least]) sim.reset();
  ctx.logs.length = 0;
});

/** Prompt tokens the engines took from their caches, over all prompt tokens they were sent. */
const hitRate = (sims: EngineSim[]) => {
  const queries = sims.reduce((n, s) => n + s.kv!.queries, 0);
  return sims.reduce((n, s) => n + s.kv!.hits, 0) / queries;
};

test("shared_prefixes_find_their_cache_on_prefix_routing_and_miss_it_on_least_loaded", async ({
  gw,
  prefix,
  least,
}) => {
  const prompts = placedPrompts(prefix);
  for (let round = 0; round < 4; round++)
    for (let i = 0; i < PROMPTS; i++)
      for (const model of ["prefix", "least"]) {
        const res = await postJson(
          `${gw.url}/v1/chat/completions`,
          chat(model, i, `question ${round}`, {}, (n) => prompts[n]!),
        );
        assert.is(res.status, 200, JSON.stringify(res.json));
      }
  const [withPrefix, withLeast] = [hitRate(prefix), hitRate(least)];
  console.log(
    `  prompt tokens from cache: prefix ${(withPrefix * 100).toFixed(0)} %, least-loaded ${(withLeast * 100).toFixed(0)} %`,
  );
  // 3 of 4 rounds can hit at most: 75 %. Least-loaded rotates 13 prompts over 3 replicas that hold 7 each.
  assert.ok(withPrefix >= 0.6, `prefix routing: ${withPrefix}`);
  assert.ok(withLeast <= 0.3, `least-loaded: ${withLeast}`);
  for (const sim of prefix)
    assert.ok(
      sim.requests.some((r) => r.method === "POST"),
      "every replica took prefixes",
    );
});

test("the_answer_reports_the_cached_tokens_and_the_log_line_and_metrics_the_reason", async ({ gw, logs }) => {
  await postJson(`${gw.url}/v1/chat/completions`, chat("prefix", 1, "first"));
  const again = await postJson(`${gw.url}/v1/chat/completions`, chat("prefix", 1, "second"));
  assert.ok(again.json.usage.prompt_tokens_details.cached_tokens > 900, JSON.stringify(again.json.usage));
  const lines = logs.filter((l) => l.msg === "request" && l.deployment === "prefix");
  assert.equal(
    lines.map((l) => l.routeReason),
    ["prefix", "prefix"],
  );
  assert.is(lines[0]!.replica, lines[1]!.replica);
  const short = await postJson(`${gw.url}/v1/chat/completions`, {
    model: "prefix",
    messages: [{ role: "user", content: "hi" }],
  });
  assert.is(short.status, 200);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /gateway_route_decisions_total\{deployment="prefix",reason="prefix"\} [1-9]/);
  assert.match(metrics, /gateway_route_decisions_total\{deployment="prefix",reason="least_loaded"\} [1-9]/);
  assert.match(metrics, /gateway_route_decisions_total\{deployment="least",reason="least_loaded"\}/);
});

test("a_hot_prefix_overflows_to_other_replicas_instead_of_queueing_behind_one", async ({ gw, prefix }) => {
  for (const sim of prefix) sim.slowMs = 100; // each request holds its replica a while
  const answers = await Promise.all(
    Array.from({ length: 15 }, (_, n) => postJson(`${gw.url}/v1/chat/completions`, chat("prefix", 5, `hot ${n}`))),
  );
  for (const a of answers) assert.is(a.status, 200);
  const seen = prefix.map((s) => s.requests.filter((r) => r.method === "POST").length);
  assert.ok(
    Math.max(...prefix.map((s) => s.peakInFlight)) <= 6,
    `peak in flight per replica: ${prefix.map((s) => s.peakInFlight)}`,
  );
  assert.ok(seen.filter((n) => n > 0).length >= 2, `requests per replica: ${seen}`);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(metrics, /gateway_route_decisions_total\{deployment="prefix",reason="overflow"\} [1-9]/);
});

test("a_continuation_goes_back_to_the_replica_of_its_previous_turn", async ({ gw, logs }) => {
  const first = await postJson(`${gw.url}/v1/responses`, { model: "prefix", input: "hello", instructions: system(2) });
  assert.is(first.status, 200, JSON.stringify(first.json));
  const next = await postJson(`${gw.url}/v1/responses`, {
    model: "prefix",
    input: "and then?",
    previous_response_id: first.json.id,
  });
  assert.is(next.status, 200, JSON.stringify(next.json));
  const lines = logs.filter((l) => l.msg === "request" && l.path === "/v1/responses");
  assert.equal(
    lines.map((l) => l.routeReason),
    ["prefix", "affinity"],
  );
  assert.is(lines[1]!.replica, lines[0]!.replica);
});

test("engine_load_is_read_from_each_replicas_metrics_and_shown_per_replica", async ({ gw, prefix }) => {
  assert.is(deploymentOf(gw, "prefix").engineLoads, undefined, "engine_metrics: off reads nothing");
  const watched = deploymentOf(gw, "watched"); // the same engines, their /metrics read (every second)
  await postJson(`${gw.url}/v1/chat/completions`, chat("watched", 3, "fill a cache"));
  await watched.engineLoads!.readNow();
  assert.ok(watched.replicas.every((r) => r.engineLoad?.engine === "vllm"));
  const holder = watched.replicas.find((r) => (r.engineLoad?.promptTokens ?? 0) > 0);
  assert.ok(holder, "the replica that took the prompt says so");
  assert.is(prefix.filter((s) => s.kv!.queries > 0).length, 1);
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  for (const r of watched.replicas) {
    assert.match(metrics, `gateway_replica_engine_waiting{deployment="watched",replica="${r.label}"} 0`);
    assert.match(metrics, `gateway_replica_engine_kv_usage{deployment="watched",replica="${r.label}"}`);
  }
  assert.match(metrics, `gateway_replica_prefix_cache_hit_ratio{deployment="watched",replica="${holder.label}"} 0`);
});

test.run();
