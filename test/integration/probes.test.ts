// The probes as Kubernetes and Azure ML use them: /ready needs no key (their probes send none), answers
// within a second when an engine hangs, and a deployment named in --ready-requires must exist.
import { createServer } from "node:net";
import { once } from "node:events";
import * as assert from "uvu/assert";
import { suite } from "uvu";
import { loadConfig } from "../../src/config.ts";
import { createApp } from "../../src/app.ts";
import { API, postJson, startGateway, untilStatus } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const test = suite("probes");

test("ready_needs_no_key_while_the_api_does", async () => {
  const sim = await new EngineSim().start();
  const gw = await startGateway(sim.url, ["--api-key", "k"]);
  try {
    assert.is((await fetch(`${gw.url}/ready`)).status, 200);
    assert.is((await fetch(`${gw.url}/health`)).status, 200);
    assert.is(
      (await postJson(`${gw.url}/chat/completions?${API}`, { messages: [{ role: "user", content: "x" }] })).status,
      401,
    );
  } finally {
    await gw.close();
    await sim.close();
  }
});

test("ready_answers_within_a_second_when_the_engine_hangs", async () => {
  // Accepts connections and never answers: a wedged engine.
  const hanging = createServer(() => {}).listen(0, "127.0.0.1");
  await once(hanging, "listening");
  const port = (hanging.address() as { port: number }).port;
  const gw = await startGateway(`http://127.0.0.1:${port}`, ["--first-byte-timeout", "30s"]);
  try {
    const started = performance.now();
    const res = await fetch(`${gw.url}/ready`);
    const took = performance.now() - started;
    assert.is(res.status, 503);
    assert.ok(took < 1500, `answered after ${Math.round(took)} ms`);
  } finally {
    await gw.close();
    hanging.close();
  }
});

test("liveness_fails_for_an_engine_wedged_past_its_grace_never_while_it_loads", async () => {
  const sim = await new EngineSim().start();
  const gw = await startGateway(sim.url, ["--engine-liveness", "1s"]);
  try {
    await untilStatus(`${gw.url}/ready`, 200);
    assert.is((await fetch(`${gw.url}/health`)).status, 200);
    await sim.close(); // the engine is gone
    await untilStatus(`${gw.url}/health`, 503, 5000);
    const body = (await (await fetch(`${gw.url}/health`)).json()) as any;
    assert.match(body.error.message, /has not answered for \d+ s \(--engine-liveness\)/);
  } finally {
    await gw.close();
  }
  // An engine still loading (nothing has listened yet) never fails liveness, however long it takes.
  const loading = createServer().listen(0, "127.0.0.1");
  await once(loading, "listening");
  const port = (loading.address() as { port: number }).port;
  loading.close();
  const waiting = await startGateway(`http://127.0.0.1:${port}`, ["--engine-liveness", "1s"]);
  try {
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      assert.is((await fetch(`${waiting.url}/health`)).status, 200, "a loading engine is not a dead one");
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await waiting.close();
  }
});

test("ready_requires_must_name_a_deployment", () => {
  const config = loadConfig(["--upstream-host", "127.0.0.1", "--store", "memory:", "--ready-requires", "nope"], {});
  assert.throws(() => createApp(config), /--ready-requires: 'nope' names no deployment/);
});

test.run();
