// One deployment, several engines (`urls`): least-in-flight balancing, a replica taken out when it
// refuses and probed back in, one retry when nothing was sent, and a replica killed and restarted under
// load (core/deployments/replicas.ts). Simulators on loopback; the figures are printed for the record.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API, postJson, startGateway, untilStatus, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  a: EngineSim;
  b: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("replicas");
const CHAT = { model: "chat", messages: [{ role: "user", content: "hi" }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const posts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST").length;

test.before(async (ctx) => {
  ctx.a = await new EngineSim().start();
  ctx.b = await new EngineSim().start();
  const file = join(mkdtempSync(join(tmpdir(), "replicas-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n  - name: chat\n    urls: [${ctx.a.url}, ${ctx.b.url}]\n  - name: other\n    url: ${ctx.b.url}\n`,
  );
  ctx.logs = [];
  // A long models cache: the deployment's model-list calls would otherwise count in flight too.
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", file, "--models-cache", "60s"], ctx.logs);
  await untilStatus(`${ctx.gw.url}/ready`, 200);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await Promise.all([ctx.a.close(), ctx.b.close()]);
});
test.before.each((ctx) => {
  ctx.a.reset();
  ctx.b.reset();
});

const replicasOf = (gw: RunningGateway) => gw.gateway.deps.deployments.all[0]!.replicas;

test("held_streams_are_spread_by_requests_in_flight", async ({ gw, a, b, logs }) => {
  const streams = Array.from({ length: 4 }, () =>
    postJson(
      `${gw.url}/chat/completions?${API}`,
      { ...CHAT, stream: true, max_tokens: 40, sim_gap_ms: 50 },
      { "extra-parameters": "pass-through" },
    ),
  );
  const inFlight = () => replicasOf(gw).map((r) => r.inFlight);
  for (let i = 0; i < 150 && inFlight().reduce((x, y) => x + y) < 4; i++) await sleep(10);
  assert.equal(inFlight(), [2, 2]);
  for (const s of await Promise.all(streams)) assert.is(s.status, 200);
  assert.equal([posts(a), posts(b)], [2, 2]);
  await sleep(50); // the log lines are written as the responses close
  const one = await postJson(`${gw.url}/chat/completions?${API}`, CHAT);
  assert.match(
    one.headers.get("server-timing") ?? "",
    /^upstream;desc="chat 127\.0\.0\.1:\d+";dur=/,
    "Server-Timing names the deployment and the replica",
  );
  for (let i = 0; i < 50 && replicasOf(gw).some((r) => r.inFlight > 0); i++) await sleep(10);
  assert.equal(
    replicasOf(gw).map((r) => r.inFlight),
    [0, 0],
    "each stream's slot is given back when its body closes",
  );
  const lines = logs.filter((l) => l.msg === "request" && l.path === "/chat/completions");
  assert.equal(
    new Set(lines.map((l) => l.replica)),
    new Set([new URL(a.url).host, new URL(b.url).host]),
    "log lines name the replica",
  );
});

test("a_slow_replica_gets_fewer_requests_and_in_flight_counts_stay_balanced", async ({ gw, a, b }) => {
  a.slowMs = 150;
  const sums = [0, 0];
  let samples = 0;
  let peakSlow = 0;
  const sampler = setInterval(() => {
    replicasOf(gw).forEach((r, i) => (sums[i]! += r.inFlight));
    peakSlow = Math.max(peakSlow, replicasOf(gw)[0]!.inFlight);
    samples++;
  }, 5);
  const started = Date.now();
  await Promise.all(
    Array.from({ length: 6 }, async () => {
      while (Date.now() - started < 1500)
        assert.is((await postJson(`${gw.url}/chat/completions?${API}`, CHAT)).status, 200);
    }),
  );
  clearInterval(sampler);
  const [slow, fast] = sums.map((s) => s / samples) as [number, number];
  console.log(
    `  slow replica: ${posts(a)} requests, ${slow.toFixed(2)} in flight on average (${peakSlow} at most); fast replica: ${posts(b)} requests, ${fast.toFixed(2)} in flight`,
  );
  assert.ok(posts(b) > 3 * posts(a), `the fast replica took ${posts(b)}, the slow one ${posts(a)}`);
  // Judged by what the engines saw: a new request goes to the slow replica only when it has no more in
  // flight than the fast one, so it never held most of the 6 clients at once; round-robin leaves nearly all
  // of them waiting on it (150 ms there against ~2 ms here).
  assert.ok(
    a.peakInFlight <= 4,
    `the slow engine had ${a.peakInFlight} requests at once (the fast one ${b.peakInFlight})`,
  );
  assert.ok(slow <= 3.5, `slow replica: ${slow.toFixed(2)} in flight on average, ${peakSlow} at most`);
});

test("a_killed_replica_costs_only_its_in_flight_requests_and_rejoins", async ({ gw, a, logs }) => {
  const port = a.port;
  let ok = 0;
  const errors: number[] = [];
  const details: string[] = [];
  let inFlightOnA = -1;
  let rejoinedMs = -1;
  const started = Date.now();
  const load = Promise.all(
    Array.from({ length: 8 }, async () => {
      // At least 4 s, and on until the restarted replica has been seen taking requests again.
      while (Date.now() - started < 4000 || (rejoinedMs < 0 && Date.now() - started < 9000)) {
        // A stream cut by the engine's death ends with an error event and a cut connection (streaming.test.ts).
        const res = await postJson(
          `${gw.url}/chat/completions?${API}`,
          { ...CHAT, stream: true, max_tokens: 6, sim_gap_ms: 10 },
          { "extra-parameters": "pass-through" },
        ).catch(() => undefined);
        if (res?.status === 200 && String(res.json).includes("[DONE]")) ok++;
        else
          (errors.push(res?.status ?? 0),
            details.push(
              res
                ? `${res.status} ${String(typeof res.json === "string" ? res.json.slice(-300) : JSON.stringify(res.json))}`
                : "cut",
            ));
      }
    }),
  );
  const cutBefore = replicasOf(gw).map((r) => r.unfinished);
  await sleep(1000);
  inFlightOnA = replicasOf(gw)[0]!.inFlight;
  await a.close(); // in-flight streams on A are cut; new connections are refused
  const killedAt = Date.now();
  await sleep(1200);
  const aBefore = posts(a);
  await a.start(port);
  while (Date.now() - killedAt < 8000) {
    if (posts(a) > aBefore) {
      rejoinedMs = Date.now() - killedAt - 1200;
      break;
    }
    await sleep(20);
  }
  await load;
  const [cutOnA, cutOnB] = replicasOf(gw).map((r, i) => r.unfinished - cutBefore[i]!) as [number, number];
  console.log(
    `  replica killed under load: ${ok} streams completed, ${errors.length} failed; ${inFlightOnA} were in flight on it when it died and ${cutOnA} calls sent to it were cut (those on a keep-alive connection it was closing included); back in rotation ${rejoinedMs} ms after its restart`,
  );
  assert.is(cutOnB, 0, "nothing failed on the replica that stayed up");
  assert.ok(
    errors.length <= cutOnA,
    `${errors.length} client errors, ${cutOnA} calls cut on the killed replica: ${details.join(" | ")}`,
  );
  assert.ok(ok > 100, `${ok} streams completed`);
  assert.ok(rejoinedMs >= 0 && rejoinedMs < 3000, `rejoined after ${rejoinedMs} ms`);
  assert.ok(
    logs.some((l) => l.msg === "replica out" && l.deployment === "chat"),
    "taken out, in the log",
  );
  assert.ok(
    logs.some((l) => l.msg === "replica in" && l.deployment === "chat"),
    "back in, in the log",
  );
  const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  assert.match(metrics, new RegExp(`gateway_replica_ready\\{deployment="chat",replica="127\\.0\\.0\\.1:${port}"\\} 1`));
});

test("a_refused_connection_is_retried_once_on_another_replica", async ({ gw, a, b, logs }) => {
  const port = a.port;
  await a.close();
  try {
    // Until the probe sees A gone, the balancer may still pick it: the refusal is retried on B.
    for (let i = 0; i < 6; i++) assert.is((await postJson(`${gw.url}/chat/completions?${API}`, CHAT)).status, 200);
    assert.is(posts(b), 6);
    assert.ok(
      logs.some((l) => /retried on another replica/.test(l.msg ?? "")) ||
        replicasOf(gw)[0]!.readiness.last.state !== "ready",
      "retried, or already taken out",
    );
    assert.is((await fetch(`${gw.url}/ready`)).status, 200, "a deployment is ready while one replica is");
  } finally {
    await a.start(port);
  }
  await untilStatus(`${gw.url}/ready?deployment=chat`, 200);
});

test.run();
