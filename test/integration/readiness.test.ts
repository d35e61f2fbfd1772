// Readiness that follows the engine (core/upstream/readiness.ts) and the gate that holds requests while
// it loads (core/http/engine-gate.ts): a gateway started before its engine, an engine answering 503
// while it loads (llama.cpp, TGI), probes in a storm, an engine that is broken rather than loading.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { API, postJson, startGateway, untilStatus } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const test = suite("readiness");
const MESSAGES = [{ role: "user", content: "hi" }];

/** A port nothing listens on (yet). */
async function vacantPort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** One chat request per dialect; `ok` tells which answers each dialect's envelope takes. */
const DIALECT_CHATS = [
  { dialect: "azure-inference", path: `/chat/completions?${API}`, body: { messages: MESSAGES } },
  { dialect: "azure-openai v1", path: "/openai/v1/chat/completions", body: { model: "d", messages: MESSAGES } },
  {
    dialect: "azure-openai deployments",
    path: "/openai/deployments/d/chat/completions?api-version=2024-10-21",
    body: { messages: MESSAGES },
  },
  { dialect: "openai", path: "/v1/chat/completions", body: { model: "d", messages: MESSAGES } },
];

function assertLoadingAnswer(dialect: string, res: { status: number; headers: Headers; json: any }) {
  assert.is(res.status, 503, `${dialect}: ${JSON.stringify(res.json)}`);
  assert.is(res.headers.get("retry-after"), "5", dialect);
  assert.match(res.json.error.message, /^The engine is loading \(\d+ s since the gateway started\): /, dialect);
  if (dialect === "openai") assertOpenAISchema("ErrorResponse", res.json);
  else if (dialect === "azure-inference") assert.is(res.json.error.code, "ServiceUnavailable");
  else assert.is(res.headers.get("x-ms-error-code"), "ServiceUnavailable", dialect);
}

const metricValue = async (gw: string, name: string) => {
  const text = await fetch(`${gw}/metrics`).then((r) => r.text());
  const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
};

test("a_gateway_started_before_its_engine_says_loading_in_every_dialect_then_serves", async () => {
  const port = await vacantPort();
  const gw = await startGateway(`http://127.0.0.1:${port}`);
  let sim: EngineSim | undefined;
  try {
    assert.is(
      (await fetch(`${gw.url}/health`)).status,
      200,
      "liveness passes while nothing listens on the engine's port",
    );
    const ready = await fetch(`${gw.url}/ready`);
    assert.is(ready.status, 503);
    assert.match(
      ((await ready.json()) as any).error.message,
      /^The engine is loading \(not ready since the gateway started \d+ s ago\): The engine is unreachable: ECONNREFUSED\.$/,
    );
    for (const { dialect, path, body } of DIALECT_CHATS)
      assertLoadingAnswer(dialect, await postJson(`${gw.url}${path}`, body));
    assert.is(await metricValue(gw.url, "gateway_engine_ready"), 0);
    // Probes are the orchestrator's questions, not requests or engine failures.
    const counted = (text: string) =>
      text
        .split("\n")
        .filter((l) => /^gateway_(requests_total|upstream_errors_total)\{/.test(l))
        .join("\n");
    const before = counted(await fetch(`${gw.url}/metrics`).then((r) => r.text()));
    for (let i = 0; i < 3; i++) assert.is((await fetch(`${gw.url}/ready`)).status, 503);
    await fetch(`${gw.url}/health`);
    const after = await fetch(`${gw.url}/metrics`).then((r) => r.text());
    assert.is(counted(after), before, "/ready, /health and /metrics counted nowhere");
    assert.not.match(after, /route="\/(ready|health|metrics)"/);
    assert.is((await fetch(`${gw.url}/nope`)).status, 404, "an unknown route is still a 404, not a 503");

    sim = await new EngineSim().start(port);
    const took = await untilStatus(`${gw.url}/ready`, 200, 2500);
    assert.ok(took <= 1500, `ready ${took} ms after the engine came up (checked at most once a second)`);
    for (const { dialect, path, body } of DIALECT_CHATS)
      assert.is((await postJson(`${gw.url}${path}`, body)).status, 200, dialect);
    assert.is(await metricValue(gw.url, "gateway_engine_ready"), 1);
  } finally {
    await gw.close();
    await sim?.close();
  }
});

test("an_engine_answering_503_while_it_loads_is_loading", async () => {
  const sim = await new EngineSim().start();
  sim.loading = true;
  const gw = await startGateway(sim.url);
  try {
    const ready = await fetch(`${gw.url}/ready`);
    assert.is(ready.status, 503);
    assert.match(((await ready.json()) as any).error.message, /^The engine is loading \(.*\): Loading model$/);
    assertLoadingAnswer("azure-inference", await postJson(`${gw.url}/embeddings?${API}`, { input: ["x"] }));
    assert.not.ok(
      sim.requests.some((r) => r.method === "POST"),
      "nothing but the model list reached a loading engine",
    );
    sim.loading = false;
    await untilStatus(`${gw.url}/ready`, 200, 2500);
    assert.is((await postJson(`${gw.url}/embeddings?${API}`, { input: ["x"] })).status, 200);
  } finally {
    await gw.close();
    await sim.close();
  }
});

test("probes_however_frequent_ask_the_engine_about_once_a_second_and_ignore_the_models_cache", async () => {
  const sim = await new EngineSim().start();
  const gw = await startGateway(sim.url, ["--models-cache", "1h"]);
  try {
    await untilStatus(`${gw.url}/ready`, 200);
    const asked = () => sim.requests.filter((r) => r.path === "/v1/models").length;
    const before = asked();
    const started = Date.now();
    let probes = 0;
    const prober = async () => {
      while (Date.now() - started < 3000) {
        await fetch(`${gw.url}/ready`).then((r) => r.arrayBuffer());
        probes++;
      }
    };
    await Promise.all(Array.from({ length: 20 }, prober));
    const lists = asked() - before;
    assert.ok(probes > 300, `${probes} probes`);
    assert.ok(lists >= 2 && lists <= 4, `${probes} probes in 3 s asked the engine ${lists} times`);

    sim.models = [];
    const away = await untilStatus(`${gw.url}/ready`, 503, 2500);
    sim.models = ["sim-org/sim-model-1"];
    const back = await untilStatus(`${gw.url}/ready`, 200, 2500);
    assert.ok(away <= 1500 && back <= 1500, `turned in ${away} ms and ${back} ms with a 1 h models cache`);
  } finally {
    await gw.close();
    await sim.close();
  }
});

test("an_engine_that_is_broken_not_loading_gets_the_request_and_its_failure_is_named", async () => {
  // Answers 401 to everything: a wrong --upstream-api-key, not a model load.
  const engine = createServer((_req, res) =>
    res
      .writeHead(401, { "content-type": "application/json" })
      .end(JSON.stringify({ error: { message: "Invalid API key", type: "authentication_error" } })),
  );
  await new Promise<void>((r) => engine.listen(0, "127.0.0.1", r));
  const gw = await startGateway(`http://127.0.0.1:${(engine.address() as AddressInfo).port}`);
  try {
    const ready = await fetch(`${gw.url}/ready`);
    assert.is(ready.status, 503);
    assert.match(
      ((await ready.json()) as any).error.message,
      /^The engine is not ready \(for \d+ s\): Invalid API key/,
    );
    const chat = await postJson(`${gw.url}/chat/completions?${API}`, { messages: MESSAGES });
    assert.is(chat.status, 401, JSON.stringify(chat.json));
    assert.match(chat.json.error.message, /Invalid API key/);
  } finally {
    await gw.close();
    engine.close();
  }
});

test.run();
