// Background runs kept by the gateway (issue 24) through the `openai` SDK: answered at once, run to the end
// apart from the client, read back, followed live and replayed from a sequence number with the same numbers,
// cancelled (the engine request is aborted), failed truthfully; and across two gateway processes on one
// Redis: a run started on one is read, followed and cancelled on the other.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcesses } from "../helpers/gateway-process.ts";
import { redisAvailable, type RunningRedis, startRedis } from "../helpers/redis.ts";
import { EngineSim } from "../sim/engine.ts";

const MODEL = "my-deployment";
const client = (url: string, key = "key-a") => new OpenAI({ baseURL: `${url}/openai/v1`, apiKey: key, maxRetries: 0 });

/** Starts a background run whose engine sends a delta every `gapMs`. */
const backgroundRun = (url: string, input: string, gapMs: number) =>
  client(url).responses.create({ model: MODEL, input, background: true, sim_gap_ms: gapMs } as never);

/** Every event of a followed run, in order. */
async function eventsOf(stream: AsyncIterable<any>): Promise<any[]> {
  const events: any[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Resolves once the engine has been sent a Responses call (the run has started). */
async function engineCalled(sim: EngineSim): Promise<void> {
  const until = Date.now() + 10_000;
  while (!sim.requests.some((r) => r.path === "/v1/responses")) {
    if (Date.now() > until) throw new Error("the engine was never called");
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const test = suite<{ sim: EngineSim; gw: RunningGateway }>("background-runs");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.gw = await startGateway(ctx.sim.url, ["--api-key", "key-a,key-b"]);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => ctx.sim.reset());

test("a_background_response_is_answered_at_once_and_runs_to_the_end", async ({ gw, sim }) => {
  const openai = client(gw.url);
  const queued = await openai.responses.create({ model: MODEL, input: "Tell me a story.", background: true });
  assert.is(queued.status, "queued");
  assert.is(queued.background, true);
  assert.equal(queued.output, []);
  const events = await eventsOf(await openai.responses.retrieve(queued.id, { stream: true }));
  assert.is(events.at(-1).type, "response.completed");
  assert.equal(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
    "numbered from 0, one by one",
  );
  const done = await openai.responses.retrieve(queued.id);
  assert.is(done.status, "completed");
  assert.is(done.id, queued.id);
  assert.is(done.output_text, "The quick brown fox jumps over");
  const sent = sim.last("/v1/responses").body;
  assert.is(sent.background, undefined, "the engine runs it for the gateway, in the foreground");
  assert.is(sent.stream, true);
  // A later turn continues from it.
  const next = await openai.responses.create({ model: MODEL, input: "More.", previous_response_id: queued.id });
  assert.is(sim.last("/v1/responses").body.input.length, 3);
  assert.is(next.previous_response_id, queued.id);
});

test("a_streamed_background_run_is_replayed_from_a_sequence_number_with_the_same_numbers", async ({ gw }) => {
  const openai = client(gw.url);
  const live = await eventsOf(
    await openai.responses.create({ model: MODEL, input: "Go.", background: true, stream: true }),
  );
  const id = live[0].response.id;
  assert.is(live[0].type, "response.created");
  assert.is(live.at(-1).type, "response.completed");
  const replay = await eventsOf(await openai.responses.retrieve(id, { stream: true, starting_after: 3 }));
  assert.equal(replay, live.slice(4));
  const past = await eventsOf(await openai.responses.retrieve(id, { stream: true, starting_after: 10_000 }));
  assert.equal(past, [], "after the last event: nothing, and the stream ends");
});

test("the_run_outlives_its_client", async ({ gw, sim }) => {
  const openai = client(gw.url);
  const controller = new AbortController();
  const stream = await openai.responses.create(
    { model: MODEL, input: "Go.", background: true, stream: true, sim_gap_ms: 20 } as never,
    { signal: controller.signal },
  );
  let id = "";
  for await (const event of stream as unknown as AsyncIterable<any>) {
    id ||= event.response?.id;
    if (event.type === "response.output_text.delta") break; // the client leaves mid-run
  }
  controller.abort();
  const rest = await eventsOf(await openai.responses.retrieve(id, { stream: true }));
  assert.is(rest.at(-1).type, "response.completed");
  assert.is((await openai.responses.retrieve(id)).status, "completed");
  assert.not.ok(sim.last("/v1/responses").aborted, "the engine request ran to its end");
});

test("a_cancel_aborts_the_engine_request_and_is_idempotent", async ({ gw, sim }) => {
  const openai = client(gw.url);
  const queued = await openai.responses.create({
    model: MODEL,
    input: "A long one.",
    background: true,
    sim_gap_ms: 300,
  } as never);
  await engineCalled(sim);
  const cancelled = await openai.responses.cancel(queued.id);
  assert.is(cancelled.status, "cancelled");
  assert.ok(await sim.waitForAbort(5000), "the engine request was aborted");
  assert.is((await openai.responses.retrieve(queued.id)).status, "cancelled");
  assert.is((await openai.responses.cancel(queued.id)).status, "cancelled");
  const events = await eventsOf(await openai.responses.retrieve(queued.id, { stream: true }));
  assert.not.ok(
    events.some((e) => e.type === "response.completed"),
    "a cancelled run never completes",
  );
});

test("an_engine_failure_fails_the_run_truthfully", async ({ gw, sim }) => {
  const openai = client(gw.url);
  sim.next({ status: 500, json: { error: { message: "CUDA out of memory", type: "server_error" } } });
  const queued = await openai.responses.create({ model: MODEL, input: "x", background: true });
  const events = await eventsOf(await openai.responses.retrieve(queued.id, { stream: true }));
  assert.is(events.at(-1).type, "response.failed");
  const failed = await openai.responses.retrieve(queued.id);
  assert.is(failed.status, "failed");
  assert.match(failed.error!.message, /CUDA out of memory/);
});

/** One sample of the gateway's /metrics (0 when absent). */
async function sample(gw: RunningGateway, series: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`, { headers: { "api-key": "key-a" } })).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
async function untilSample(gw: RunningGateway, series: string, value: number): Promise<void> {
  const until = Date.now() + 10_000;
  while ((await sample(gw, series)) !== value) {
    if (Date.now() > until) throw new Error(`${series} never reached ${value} (${await sample(gw, series)})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test("runs_show_in_the_metrics_while_they_run_and_are_counted_by_how_they_end", async ({ gw, sim }) => {
  const openai = client(gw.url);
  const completed = await sample(gw, 'gateway_background_runs_total{outcome="completed"}');
  const cancelled = await sample(gw, 'gateway_background_runs_total{outcome="cancelled"}');
  const failed = await sample(gw, 'gateway_background_runs_total{outcome="failed"}');
  const long = await backgroundRun(gw.url, "A long one.", 300);
  await engineCalled(sim);
  assert.is(await sample(gw, "gateway_background_runs_running"), 1);
  assert.ok((await sample(gw, "gateway_background_runs_idle_seconds")) >= 0);
  await openai.responses.cancel(long.id);
  await untilSample(gw, 'gateway_background_runs_total{outcome="cancelled"}', cancelled + 1);
  await untilSample(gw, "gateway_background_runs_running", 0);
  assert.is(await sample(gw, "gateway_background_runs_idle_seconds"), 0);

  const done = await openai.responses.create({ model: MODEL, input: "x", background: true });
  await eventsOf(await openai.responses.retrieve(done.id, { stream: true }));
  await untilSample(gw, 'gateway_background_runs_total{outcome="completed"}', completed + 1);
  sim.next({ status: 500, json: { error: { message: "CUDA out of memory", type: "server_error" } } });
  const broken = await openai.responses.create({ model: MODEL, input: "x", background: true });
  await eventsOf(await openai.responses.retrieve(broken.id, { stream: true }));
  await untilSample(gw, 'gateway_background_runs_total{outcome="failed"}', failed + 1);
});

test("what_background_mode_refuses", async ({ gw, sim }) => {
  const openai = client(gw.url);
  const noStore = await openai.responses
    .create({ model: MODEL, input: "x", background: true, store: false })
    .catch((e: unknown) => e);
  assert.instance(noStore, OpenAI.BadRequestError);
  assert.match((noStore as Error).message, /store/);
  assert.is(sim.requests.filter((r) => r.method === "POST").length, 0);
  const plain = await openai.responses.create({ model: MODEL, input: "x" });
  const cancel = await openai.responses.cancel(plain.id).catch((e: unknown) => e);
  assert.instance(cancel, OpenAI.BadRequestError);
  assert.match((cancel as Error).message, /background/);
  const stream = await openai.responses.retrieve(plain.id, { stream: true }).catch((e: unknown) => e);
  assert.instance(stream, OpenAI.BadRequestError);
  const done = await openai.responses.create({ model: MODEL, input: "x", background: true });
  await eventsOf(await openai.responses.retrieve(done.id, { stream: true }));
  const late = await openai.responses.cancel(done.id).catch((e: unknown) => e);
  assert.instance(late, OpenAI.BadRequestError);
  assert.match((late as Error).message, /completed/);
  const other = await client(gw.url, "key-b")
    .responses.cancel(done.id)
    .catch((e: unknown) => e);
  assert.instance(other, OpenAI.NotFoundError);
});

test.run();

if (redisAvailable()) {
  const shared = suite<{ sim: EngineSim; redis: RunningRedis; a: GatewayProcess; b: GatewayProcess }>(
    "background-runs:two-processes-on-redis",
  );
  shared.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.redis = await startRedis();
    const args = ["--store", ctx.redis.url, "--api-key", "key-a"];
    [ctx.a, ctx.b] = (await startGatewayProcesses(2, ctx.sim.port, args)) as [GatewayProcess, GatewayProcess];
  });
  shared.after(async (ctx) => {
    await Promise.all([ctx.a?.stop(), ctx.b?.stop()]);
    await ctx.redis?.stop();
    await ctx.sim?.close();
  });
  shared.before.each((ctx) => ctx.sim.reset());

  shared("a_run_started_on_one_gateway_is_followed_and_read_on_the_other", async ({ a, b, sim }) => {
    const queued = await backgroundRun(a.url, "Go.", 20);
    const events = await eventsOf(await client(b.url).responses.retrieve(queued.id, { stream: true }));
    assert.is(events.at(-1).type, "response.completed");
    assert.equal(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
    );
    assert.is((await client(b.url).responses.retrieve(queued.id)).status, "completed");
    // And a conversation continues on either.
    const next = await client(b.url).responses.create({
      model: MODEL,
      input: "More.",
      previous_response_id: queued.id,
    });
    assert.is(sim.last("/v1/responses").body.input.length, 3);
    assert.is((await client(a.url).responses.retrieve(next.id)).id, next.id);
  });

  shared("a_cancel_on_the_other_gateway_stops_the_engine", async ({ a, b, sim }) => {
    const queued = await backgroundRun(a.url, "A long one.", 300);
    await engineCalled(sim);
    assert.is((await client(b.url).responses.cancel(queued.id)).status, "cancelled");
    assert.ok(await sim.waitForAbort(5000), "the runner saw the cancel and aborted the engine request");
    assert.is((await client(a.url).responses.retrieve(queued.id)).status, "cancelled");
  });

  shared("a_redis_gone_is_a_503_for_stateful_calls_only", async ({ a, redis }) => {
    const openai = client(a.url);
    await redis.stop();
    const stored = await openai.responses.create({ model: MODEL, input: "x" }).catch((e: unknown) => e);
    assert.instance(stored, OpenAI.InternalServerError);
    assert.is((stored as InstanceType<typeof OpenAI.APIError>).status, 503);
    const stateless = await openai.responses.create({ model: MODEL, input: "x", store: false });
    assert.is(stateless.status, "completed");
    const chat = await openai.chat.completions.create({ model: MODEL, messages: [{ role: "user", content: "x" }] });
    assert.ok(chat.choices[0]!.message.content);
  });

  shared.run();
}

/** A run's status, read until it is no longer queued or in progress (or `ms` pass). */
async function settled(url: string, id: string, ms = 20_000): Promise<any> {
  const until = Date.now() + ms;
  for (;;) {
    const response = await client(url).responses.retrieve(id);
    if (!["queued", "in_progress"].includes(response.status!) || Date.now() > until) return response;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The stores several gateway processes share: a sqlite file on one host, and Redis where it is installed. */
const SHARED_STORES: Array<[string, () => Promise<{ spec: string; stop(): Promise<void> }>]> = [
  [
    "sqlite",
    async () => {
      return { spec: `sqlite:${join(mkdtempSync(join(tmpdir(), "runs-")), "state.db")}`, stop: async () => {} };
    },
  ],
  ...(redisAvailable()
    ? [
        [
          "redis",
          async () => {
            const redis = await startRedis();
            return { spec: redis.url, stop: () => redis.stop() };
          },
        ] as [string, () => Promise<{ spec: string; stop(): Promise<void> }>],
      ]
    : []),
];

for (const [kind, openStore] of SHARED_STORES) {
  const gone = suite<{ sim: EngineSim; store: { spec: string; stop(): Promise<void> }; gateways: GatewayProcess[] }>(
    `background-runs:runner-gone:${kind}`,
  );
  gone.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.store = await openStore();
    ctx.gateways = [];
  });
  gone.after(async (ctx) => {
    await Promise.all(ctx.gateways.map((g) => g.stop()));
    await ctx.store?.stop();
    await ctx.sim?.close();
  });
  gone.before.each((ctx) => ctx.sim.reset());
  const start = async (ctx: { sim: EngineSim; store: { spec: string }; gateways: GatewayProcess[] }, lease: string) => {
    const args = ["--store", ctx.store.spec, "--api-key", "key-a", "--run-lease", lease];
    const started = await startGatewayProcesses(2, ctx.sim.port, args);
    ctx.gateways.push(...started);
    return started as [GatewayProcess, GatewayProcess];
  };

  gone("a_run_longer_than_its_lease_completes_while_its_process_lives", async (ctx) => {
    const [a, b] = await start(ctx, "1s");
    const queued = await backgroundRun(a.url, "Go.", 400); // the run outlasts two leases: only their renewal keeps it
    const events = await eventsOf(await client(b.url).responses.retrieve(queued.id, { stream: true }));
    assert.is(events.at(-1).type, "response.completed");
    assert.is((await client(b.url).responses.retrieve(queued.id)).status, "completed");
  });

  gone("a_run_whose_process_died_is_failed_once_its_lease_passes", async (ctx) => {
    const [a, b] = await start(ctx, "1s");
    const queued = await backgroundRun(a.url, "A long one.", 1000);
    await engineCalled(ctx.sim);
    a.child.kill("SIGKILL");
    await a.exit;
    const failed = await settled(b.url, queued.id);
    assert.is(failed.status, "failed", "not in progress for good");
    assert.is(failed.error.code, "ServiceUnavailable");
    assert.match(failed.error.message, /stopped before it finished; create the response again/);
    const events = await eventsOf(await client(b.url).responses.retrieve(queued.id, { stream: true }));
    assert.is(events.at(-1).type, "response.failed", "a follower's stream ends");
    assert.equal(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
      "the failure is numbered after the events the run wrote",
    );
    assert.is(events.filter((e) => e.type === "response.failed").length, 1);
  });

  gone("a_run_still_going_when_its_gateway_stops_is_failed_at_once", async (ctx) => {
    const [a, b] = await start(ctx, "10m"); // no lease passes during the test: the stop itself ends the run
    const queued = await backgroundRun(a.url, "A long one.", 2000);
    await engineCalled(ctx.sim);
    a.child.kill("SIGTERM");
    assert.is(await a.exit, 0);
    const failed = await client(b.url).responses.retrieve(queued.id);
    assert.is(failed.status, "failed");
    assert.match(failed.error!.message, /stopped before it finished/);
    assert.ok(await ctx.sim.waitForAbort(5000), "the engine request was aborted");
    const events = await eventsOf(await client(b.url).responses.retrieve(queued.id, { stream: true }));
    assert.is(events.at(-1).type, "response.failed");
  });

  gone.run();
}
