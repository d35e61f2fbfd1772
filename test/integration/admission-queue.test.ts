// --max-concurrent with --queue-timeout (issue 26): a request past the cap waits for a slot, first come first
// served, and is refused with 429 only when none frees within the timeout; a client that leaves while it
// waits gives its place up and never reaches the engine.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const test = suite<{ sim: EngineSim }>("admission-queue");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
});
test.after(async (ctx) => {
  await ctx.sim.close();
});
test.before.each((ctx) => ctx.sim.reset());

const chat = (gw: RunningGateway, label: string, extra: object = {}, signal?: AbortSignal) =>
  fetch(`${gw.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: label }], ...extra }),
    ...(signal ? { signal } : {}),
  });

/** Resolves once the engine has received `n` POSTs; a generous bound turns a broken gateway into a failure,
 * not a hang. */
async function engineReceived(sim: EngineSim, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (sim.requests.filter((r) => r.method === "POST").length < n) {
    if (Date.now() > deadline) throw new Error(`the engine received fewer than ${n} requests`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** One sample of the gateway's /metrics, by its full name and labels (undefined when absent). */
async function sample(gw: RunningGateway, series: string): Promise<number | undefined> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function untilMetric(gw: RunningGateway, series: string, value: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await sample(gw, series)) !== value) {
    if (Date.now() > deadline) throw new Error(`${series} did not reach ${value}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test("queued_requests_are_served_in_arrival_order_as_slots_free", async ({ sim }) => {
  const gw = await startGateway(sim.url, ["--max-concurrent", "1", "--queue-timeout", "30s"]);
  try {
    const first = chat(gw, "first", { stream: true, max_tokens: 5, sim_gap_ms: 30 });
    await engineReceived(sim, 1);
    const second = chat(gw, "second");
    const third = chat(gw, "third");
    // Scrapes are not held in the queue they report.
    await untilMetric(gw, 'gateway_queue_waiting{queue="gateway"}', 2);
    const statuses = await Promise.all(
      [first, second, third].map(async (p) => (await (await p).text(), (await p).status)),
    );
    assert.equal(statuses, [200, 200, 200]);
    const order = sim.requests.filter((r) => r.method === "POST").map((r) => r.body.messages[0].content);
    assert.equal(order, ["first", "second", "third"], "first come, first served");
    assert.is(await sample(gw, 'gateway_queue_wait_seconds_count{queue="gateway"}'), 2, "each wait is measured");
    assert.is(await sample(gw, 'gateway_queue_waiting{queue="gateway"}'), 0);
  } finally {
    await gw.close();
  }
});

test("no_slot_within_the_timeout_is_a_429", async ({ sim }) => {
  const gw = await startGateway(sim.url, ["--max-concurrent", "1", "--queue-timeout", "200ms"]);
  try {
    sim.next({ sse: ["data: {}\n\n"], stall: true });
    const stalled = new AbortController();
    const first = chat(gw, "first", { stream: true }, stalled.signal);
    await engineReceived(sim, 1);
    const second = await chat(gw, "second");
    assert.is(second.status, 429);
    assert.is(second.headers.get("retry-after"), "1");
    stalled.abort();
    await first.catch(() => {});
  } finally {
    await gw.close();
  }
});

test("a_client_that_leaves_the_queue_gives_up_its_place", async ({ sim }) => {
  const gw = await startGateway(sim.url, ["--max-concurrent", "1", "--queue-timeout", "30s"]);
  try {
    const first = chat(gw, "first", { stream: true, max_tokens: 5, sim_gap_ms: 40 });
    await engineReceived(sim, 1);
    const leaving = new AbortController();
    const second = chat(gw, "second", {}, leaving.signal);
    const third = chat(gw, "third");
    leaving.abort();
    await second.catch(() => {});
    assert.is((await third).status, 200);
    await (await first).text();
    const order = sim.requests.filter((r) => r.method === "POST").map((r) => r.body.messages[0].content);
    assert.equal(order, ["first", "third"], "the one that left never reached the engine");
  } finally {
    await gw.close();
  }
});

test.run();
