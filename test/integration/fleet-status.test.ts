// The fleet at a glance (issue 36): every engine — a single URL's too — checked on one interval with a log
// line per change and no probe or request needed; /ready naming each replica; GET /status (operators only)
// with engines, their load, consumers' usage against their limits and the errors answered lately; the
// same on --metrics-port without a key. Simulators on loopback; engines are stopped and started again.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, logged, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { TestClock } from "../helpers/clock.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  a: EngineSim;
  b: EngineSim;
  embed: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
  metricsPort: number;
}
const test = suite<Ctx>("fleet-status");
const OPERATOR = "operator-key-0123456789";
const TEAM = "team-key-0123456789";

test.before(async (ctx) => {
  ctx.a = await new EngineSim().start();
  ctx.b = await new EngineSim().start();
  ctx.embed = await new EngineSim().start();
  const file = join(mkdtempSync(join(tmpdir(), "fleet-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    urls: [${ctx.a.url}, ${ctx.b.url}]
    limits: { requests_per_minute: 1000 }
  - name: embed
    url: ${ctx.embed.url}
    operations: [embeddings]
consumers:
  - name: team
    keys_env: [TEAM_KEY]
    limits: { requests_per_minute: 50, tokens_per_day: 100000 }
  - name: open-ended
    keys_env: [OPEN_ENDED_KEY]
`,
  );
  ctx.logs = [];
  ctx.metricsPort = await freePort();
  ctx.gw = await startGateway(
    "http://127.0.0.1:9",
    ["--config", file, "--api-key", OPERATOR, "--engine-checks", "200ms", "--metrics-port", String(ctx.metricsPort)],
    ctx.logs,
    { TEAM_KEY: TEAM, OPEN_ENDED_KEY: "open-ended-key-0123456789" },
    // The limits' windows on a test clock: a minute's counter is read in the minute it was charged.
    new TestClock().now,
  );
  await logged(ctx.logs, (l) => l.msg === "engine ready" && l.deployment === "embed");
  await logged(ctx.logs, (l) => l.msg === "replica in", 2);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await Promise.all([ctx.a.close(), ctx.b.close(), ctx.embed.close()]);
});

const status = (ctx: Ctx, key = OPERATOR) => fetch(`${ctx.gw.url}/status`, { headers: { "api-key": key } });

test("status_names_every_deployment_engine_and_consumer_with_their_usage", async (ctx) => {
  const chat = await fetch(`${ctx.gw.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": TEAM },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
  });
  assert.is(chat.status, 200);
  const { usage } = (await chat.json()) as any;
  const unknown = await fetch(`${ctx.gw.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": TEAM },
    body: JSON.stringify({ model: "nope", messages: [{ role: "user", content: "hi" }] }),
  });
  assert.is(unknown.status, 404);
  // A request's usage is settled as its response closes, after its log line.
  await logged(ctx.logs, (l) => l.msg === "request" && l.status === 200 && l.consumer === "team");
  // The engines' /metrics are read on their own interval: wait until each was read once.
  await Promise.all(ctx.gw.gateway.deps.deployments.all.map((d) => d.engineLoads?.readNow()));

  const res = await status(ctx);
  assert.is(res.status, 200);
  assert.is(res.headers.get("cache-control"), "no-store");
  const body = (await res.json()) as any;
  assert.equal(
    body.deployments.map((d: any) => [d.name, d.state, d.routing, d.engines.length]),
    [
      ["chat", "ready", "prefix", 2],
      ["embed", "ready", null, 1],
    ],
  );
  const [a, b] = body.deployments[0].engines;
  assert.equal([a.replica, b.replica], [new URL(ctx.a.url).host, new URL(ctx.b.url).host]);
  for (const engine of [a, b, body.deployments[1].engines[0]]) {
    assert.is(engine.state, "ready");
    assert.ok(Date.now() - Date.parse(engine.lastSeen) < 5000, `last seen ${engine.lastSeen}`);
    // The simulator's /metrics says what vLLM's would: 2 waiting, KV cache a quarter full.
    assert.equal([engine.load.engine, engine.load.waiting, engine.load.kvCacheUsage], ["vllm", 2, 0.25]);
  }
  assert.equal(body.deployments[0].limits, [
    { what: "requests", per: "minute", limit: 1000, used: 1, resetsAt: body.deployments[0].limits[0].resetsAt },
  ]);
  const team = body.consumers.find((c: any) => c.name === "team");
  assert.equal(
    team.limits.map((l: any) => [l.what, l.per, l.limit, l.used]),
    [
      ["requests", "minute", 50, 1],
      // The answer's usage, which settled the estimate charged at admission.
      ["tokens", "day", 100000, usage.total_tokens],
    ],
  );
  assert.equal(body.consumers.find((c: any) => c.name === "open-ended").limits, []);
  assert.equal(
    body.recentErrors.byCode.map((e: any) => [e.code, e.status, e.count]),
    [["DeploymentNotFound", 404, 1]],
  );
  assert.is(body.gateway.store.kind, "memory");
  assert.is(body.gateway.storeAnswered, true);
  assert.not.match(JSON.stringify(body), /0123456789/, "no key is shown");
  const again = (await (await status(ctx)).json()) as any;
  assert.equal(again.consumers, body.consumers, "reading the counters charges nothing");
  assert.equal(again.deployments[0].limits, body.deployments[0].limits);
});

test("status_and_metrics_are_for_operators_the_page_is_open_and_locked_down", async (ctx) => {
  const asConsumer = await status(ctx, TEAM);
  assert.is(asConsumer.status, 403);
  assert.match(((await asConsumer.json()) as any).error.message, /for operators/);
  assert.is((await fetch(`${ctx.gw.url}/status`)).status, 401);
  const page = await fetch(`${ctx.gw.url}/status/page`);
  assert.is(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'sha256-[A-Za-z0-9+/=]+'/);
  const html = await page.text();
  assert.not.match(html, /<script src|<link |https?:\/\//, "no external asset");
  // The private port: the same without a key.
  const privateStatus = await fetch(`http://127.0.0.1:${ctx.metricsPort}/status`);
  assert.is(privateStatus.status, 200);
  assert.equal(((await privateStatus.json()) as any).deployments.length, 2);
  assert.is((await fetch(`http://127.0.0.1:${ctx.metricsPort}/status/page`)).status, 200);
});

test("a_single_engine_that_stops_and_comes_back_is_logged_both_ways_without_any_request", async (ctx) => {
  const { embed, logs, gw } = ctx;
  const port = embed.port;
  const lines = () => logs.filter((l) => l.deployment === "embed" && /^engine (not )?ready$/.test(l.msg));
  const before = lines().length;
  await embed.close();
  const [down] = (await logged(logs, (l) => l.msg === "engine not ready" && l.deployment === "embed")).slice(-1);
  assert.is(down!.level, 40, "a warning");
  assert.is(down!.was, "ready");
  const metrics = () => fetch(`${gw.url}/metrics`, { headers: { "api-key": OPERATOR } }).then((r) => r.text());
  assert.match(await metrics(), /gateway_engine_ready\{deployment="embed"\} 0/);
  ctx.embed = await new EngineSim().start(port);
  await logged(logs, (l) => l.msg === "engine ready" && l.deployment === "embed", 2);
  assert.match(await metrics(), /gateway_engine_ready\{deployment="embed"\} 1/);
  assert.is(lines().length - before, 2, "one line per change");
  assert.is(
    logs.filter((l) => l.msg === "request" && /\/ready|\/embeddings/.test(l.path)).length,
    0,
    "no probe or request was needed",
  );
});

test("ready_names_each_replica_and_a_replica_out_is_logged_without_any_request", async (ctx) => {
  const { b, logs, gw } = ctx;
  const port = b.port;
  await b.close();
  const [out] = await logged(logs, (l) => l.msg === "replica out" && l.replica === `127.0.0.1:${port}`);
  assert.is(out!.deployment, "chat");
  const ready = (await (await fetch(`${gw.url}/ready`)).json()) as any;
  assert.equal(
    ready.deployments.chat.replicas.map((r: any) => [r.replica, r.state]),
    [
      [new URL(ctx.a.url).host, "ready"],
      [`127.0.0.1:${port}`, "unavailable"],
    ],
  );
  const engines = ((await (await status(ctx)).json()) as any).deployments[0].engines;
  assert.is(engines[1].state, "unavailable");
  assert.match(engines[1].reason, /ECONNREFUSED|refused|connect/i);
  ctx.b = await new EngineSim().start(port);
  await logged(logs, (l) => l.msg === "replica in" && l.replica === `127.0.0.1:${port}`, 2);
});

test.run();
