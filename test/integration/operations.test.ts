import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API, gatewaySuite, postJson, untilStatus } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";
import { EngineSim } from "../sim/engine.ts";

const test = gatewaySuite("operations");

const SECRET_PROMPT = "my-secret-prompt-text";
const chat = { messages: [{ role: "user", content: SECRET_PROMPT }], max_tokens: 4 };

/** The value of one sample in Prometheus text format (0 when absent). */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text());
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text
    .split("\n")
    .find((l) => l.startsWith(name) && !l.startsWith(`${name}_`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

const untilLogged = async (logs: Array<Record<string, any>>, n: number) => {
  for (let i = 0; i < 50 && logs.filter((l) => l.msg === "request" && l.path !== "/metrics").length < n; i++)
    await new Promise((r) => setTimeout(r, 10));
  return logs.filter((l) => l.msg === "request" && l.path !== "/metrics");
};

test("metrics_change_across_requests", async ({ gw, sim }) => {
  const labels = { route: "/chat/completions", status: "200", stream: "false" };
  const before = await metric(gw.url, "gateway_requests_total", labels);
  const tokensBefore = await metric(gw.url, "gateway_tokens_total", { kind: "output" });
  await postJson(`${gw.url}/models/chat/completions?${API}`, chat);
  await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assert.is(await metric(gw.url, "gateway_requests_total", labels), before + 2, "prefixes share one route label");
  assert.is(await metric(gw.url, "gateway_tokens_total", { kind: "output" }), tokensBefore + 8);
  sim.next({ status: 500, text: "boom" });
  const errorsBefore = await metric(gw.url, "gateway_upstream_errors_total", { code: "UpstreamError" });
  await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assert.is(await metric(gw.url, "gateway_upstream_errors_total", { code: "UpstreamError" }), errorsBefore + 1);
  const streamsBefore = await metric(gw.url, "gateway_requests_total", {
    route: "/chat/completions",
    status: "200",
    stream: "true",
  });
  await readRaw(`${gw.url}/chat/completions?${API}`, { ...chat, stream: true });
  assert.is(
    await metric(gw.url, "gateway_requests_total", { route: "/chat/completions", status: "200", stream: "true" }),
    streamsBefore + 1,
  );
  assert.ok(
    (await metric(gw.url, "gateway_time_to_first_token_seconds_count", { deployment: "default", replica: "" })) >= 1,
    "time to first token by deployment",
  );
  assert.ok(
    (await metric(gw.url, "gateway_deployment_request_duration_seconds_count", {
      deployment: "default",
      stream: "true",
    })) >= 1,
  );
  assert.is(await metric(gw.url, "gateway_streams_in_flight"), 0);
  assert.ok((await metric(gw.url, "process_resident_memory_bytes")) > 0, "default process metrics");
});

test("every_stream_is_metered_and_a_stream_that_fails_part_way_is_counted_as_failed", async ({ gw, sim, logs }) => {
  // An open gateway, no consumer: the usage is still asked of the engine, counted, and kept from the client.
  const tokensBefore = await metric(gw.url, "gateway_tokens_total", { deployment: "default", kind: "input" });
  const completedBefore = await metric(gw.url, "gateway_streams_total", { outcome: "completed" });
  const raw = await readRaw(`${gw.url}/v1/chat/completions`, { ...chat, model: "m", stream: true });
  assert.is(sim.last("/v1/chat/completions").body.stream_options.include_usage, true, "usage asked of the engine");
  assert.not.match(raw.text, /"usage"/, "and not shown to a client that did not ask");
  const [line] = (await untilLogged(logs, 1)).filter((l) => l.path === "/v1/chat/completions");
  assert.ok(line!.promptTokens > 0 && line!.completionTokens > 0, JSON.stringify(line));
  assert.is(line!.streamOutcome, "completed");
  assert.is(
    await metric(gw.url, "gateway_tokens_total", { deployment: "default", kind: "input" }),
    tokensBefore + line!.promptTokens,
  );
  assert.is(await metric(gw.url, "gateway_streams_total", { outcome: "completed" }), completedBefore + 1);

  const failedBefore = await metric(gw.url, "gateway_streams_total", { outcome: "failed" });
  sim.next({ sse: ['data: {"choices":[{"index":0,"delta":{"content":"partial"}}]}\n\n'], gapMs: 20, cut: true });
  const cut = await readRaw(`${gw.url}/v1/chat/completions`, { ...chat, model: "m", stream: true });
  assert.ok(cut.broken);
  const failed = (await untilLogged(logs, 2)).filter((l) => l.path === "/v1/chat/completions")[1]!;
  assert.is(failed.status, 200, "its headers had gone out");
  assert.is(failed.streamOutcome, "failed");
  assert.is(failed.level, 40, "a warning");
  assert.is(await metric(gw.url, "gateway_streams_total", { outcome: "failed" }), failedBefore + 1);
});

test("the_operations_doc_lists_every_series_the_gateway_exports", async ({ gw }) => {
  const text = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  const exported = [...text.matchAll(/^# TYPE (gateway_\w+) /gm)].map((m) => m[1]!);
  assert.ok(exported.length >= 20, `${exported.length} series`);
  const doc = readFileSync(join(import.meta.dirname, "../../docs/operations.md"), "utf8");
  assert.equal(
    exported.filter((name) => !doc.includes(`\`${name}\``)),
    [],
    "series missing from docs/operations.md",
  );
});

test("one_log_line_per_request_without_bodies", async ({ gw, logs }) => {
  await postJson(`${gw.url}/chat/completions?${API}`, chat, {
    "x-ms-client-request-id": "cid-1",
    "api-key": "inbound-secret",
  });
  await readRaw(`${gw.url}/chat/completions?${API}`, { ...chat, stream: true });
  const lines = await untilLogged(logs, 2);
  assert.is(lines.length, 2);
  const [plain, stream] = lines as [Record<string, any>, Record<string, any>];
  for (const key of [
    "requestId",
    "route",
    "apiVersion",
    "model",
    "status",
    "stream",
    "durationMs",
    "upstreamMs",
    "clientAborted",
  ])
    assert.ok(key in plain, key);
  assert.is(plain.route, "/chat/completions");
  assert.is(plain.apiVersion, "2025-04-01");
  assert.is(plain.model, "sim-org/sim-model-1");
  assert.is(plain.completionTokens, 4);
  assert.is(stream.stream, true);
  assert.is(stream.streamCompleted, true);
  assert.type(stream.firstTokenMs, "number");
  const all = JSON.stringify(logs);
  assert.not.ok(all.includes(SECRET_PROMPT), "no prompt text");
  assert.not.ok(all.includes("The quick"), "no completion text");
  assert.not.ok(all.includes("inbound-secret"), "no credentials");
});

test("client_abort_is_logged_and_counted", async ({ gw, logs }) => {
  const before = await metric(gw.url, "gateway_client_aborts_total", { route: "/chat/completions" });
  const controller = new AbortController();
  const res = await fetch(`${gw.url}/chat/completions?${API}`, {
    method: "POST",
    signal: controller.signal,
    headers: { "content-type": "application/json", "extra-parameters": "pass-through" },
    body: JSON.stringify({ ...chat, stream: true, max_tokens: 500, sim_gap_ms: 10 }),
  });
  await res.body!.getReader().read();
  controller.abort();
  const [line] = await untilLogged(logs, 1);
  assert.is(line!.clientAborted, true);
  assert.is(await metric(gw.url, "gateway_client_aborts_total", { route: "/chat/completions" }), before + 1);
});

test("server_timing_on_non_streaming_answers", async ({ gw }) => {
  const res = await postJson(`${gw.url}/chat/completions?${API}`, chat);
  assert.match(res.headers.get("server-timing") ?? "", /^upstream;dur=[\d.]+, gateway;dur=[\d.]+$/);
});

test("readiness_follows_the_engine_away_and_back", async ({ gw, sim }) => {
  assert.is((await fetch(`${gw.url}/ready`)).status, 200);
  const port = sim.port;
  await sim.close();
  assert.ok(
    (await untilStatus(`${gw.url}/ready`, 503, 2500)) < 2500,
    "not ready within the check interval, with no other traffic",
  );
  assert.is((await fetch(`${gw.url}/health`)).status, 200, "liveness does not depend on the engine");
  const back = await new EngineSim().start(port);
  try {
    await untilStatus(`${gw.url}/ready`, 200, 2500);
  } finally {
    await back.close();
    await sim.start(port); // for the suite's after hook
  }
});

test.run();
