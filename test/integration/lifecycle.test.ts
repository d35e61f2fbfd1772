// The real CLI in a child process: SIGTERM lets a live stream finish and then exits 0; a second signal
// exits at once.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { EngineSim } from "../sim/engine.ts";
import { API, logged } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";

const test = suite<{ sim: EngineSim }>("lifecycle");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
});
test.after(async (ctx) => {
  await ctx.sim.close();
});

const startCli = (sim: EngineSim, extra: string[] = []) => startGatewayProcess(sim.port, extra);

const slowStream = (url: string) =>
  fetch(`${url}/chat/completions?${API}`, {
    method: "POST",
    headers: { "content-type": "application/json", "extra-parameters": "pass-through" },
    body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true, max_tokens: 40, sim_gap_ms: 25 }),
  });

test("sigterm_lets_a_live_stream_finish_then_exits_0", async ({ sim }) => {
  const { child, url, exit, logLine } = await startCli(sim, ["--shutdown-grace", "10s"]);
  const res = await slowStream(url);
  const reader = res.body!.getReader();
  let text = new TextDecoder().decode((await reader.read()).value);
  child.kill("SIGTERM");
  await logLine((l) => l.msg === "draining"); // logged as the listener closes
  const refused = await fetch(`${url}/health`).then(
    () => false,
    () => true,
  );
  assert.ok(refused, "no new connections while draining");
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
    text += new TextDecoder().decode(chunk.value);
  assert.ok(text.endsWith("data: [DONE]\n\n"), "the stream finished");
  assert.is(await exit, 0);
});

test("a_second_signal_exits_at_once", async ({ sim }) => {
  const { child, url, exit, logLine } = await startCli(sim, ["--shutdown-grace", "30s"]);
  const res = await slowStream(url);
  await res.body!.getReader().read();
  const started = Date.now();
  child.kill("SIGTERM");
  await logLine((l) => l.msg === "draining");
  child.kill("SIGTERM");
  assert.is(await exit, 1);
  assert.ok(Date.now() - started < 2000);
});

test("grace_period_ends_a_stream_that_will_not_finish", async ({ sim }) => {
  const { child, url, exit } = await startCli(sim, ["--shutdown-grace", "300ms"]);
  sim.next({
    sse: [
      'data: {"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n',
    ],
    stall: true,
  });
  const res = await fetch(`${url}/chat/completions?${API}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stream: true }),
  });
  await res.body!.getReader().read();
  const started = Date.now();
  child.kill("SIGTERM");
  assert.is(await exit, 0);
  assert.ok(Date.now() - started < 3000, `exited after ${Date.now() - started} ms`);
});

test("workers_share_the_port_and_aggregate_metrics", async ({ sim }) => {
  const metricsPort = 20_000 + Math.floor(Math.random() * 20_000);
  const { child, url, exit, logs } = await startCli(sim, ["--workers", "2", "--metrics-port", String(metricsPort)]);
  // The first worker to listen logs its URL; wait for the second one too before counting.
  await logged(logs, (l) => typeof l.msg === "string" && l.msg.startsWith("listening on"), 2);
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${url}/chat/completions?${API}`, {
      method: "POST",
      headers: { "content-type": "application/json", connection: "close" },
      body: JSON.stringify({ messages: [{ role: "user", content: "x" }] }),
    });
    assert.is(res.status, 200);
  }
  const total = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
  const served = total
    .split("\n")
    .filter((l) => l.startsWith('gateway_requests_total{route="/chat/completions",status="200"'))
    .reduce((n, l) => n + Number(l.split(" ").at(-1)), 0);
  assert.is(served, 20, "the primary's --metrics-port sums both workers");
  child.kill("SIGTERM");
  assert.is(await exit, 0);
});

test.run();
