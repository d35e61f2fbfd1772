// Tracing through the real CLI with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a loopback collector:
// one GenAI span per request, continuing the caller's trace, and the engine sees the gateway's span as parent.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EngineSim } from "../sim/engine.ts";
import { API } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

const test = suite("tracing");

/** A loopback OTLP/HTTP collector that keeps every span it is sent. */
async function startCollector(spans: OtlpSpan[]) {
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.url === "/v1/traces")
      for (const rs of JSON.parse(body).resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? []) spans.push(...ss.spans);
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** The real CLI exporting to `collectorUrl`; resolves once it listens. */
async function startTracedGateway(args: string[], collectorUrl: string, env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/main.ts", "--host", "127.0.0.1", "--port", "0", ...args],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: collectorUrl, OTEL_BSP_SCHEDULE_DELAY: "50", ...env },
    },
  );
  const exit = once(child, "exit");
  let url = "";
  for await (const line of createInterface({ input: child.stdout! })) {
    url = JSON.parse(line).url ?? "";
    if (url) break;
  }
  return { url, stop: async () => void (child.kill("SIGTERM"), await exit) };
}

test("spans_follow_genai_conventions_and_propagate", async () => {
  const sim = await new EngineSim().start();
  const spans: OtlpSpan[] = [];
  const collector = await startCollector(spans);
  const gw = await startTracedGateway(["--upstream-port", String(sim.port)], collector.url, {
    OTEL_SERVICE_NAME: "gw-under-test",
  });
  try {
    const url = gw.url;
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const headers = { traceparent: `00-${traceId}-00f067aa0ba902b7-01` };
    const res = await fetch(`${url}/chat/completions?${API}`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify({ messages: [{ role: "user", content: "hi" }], max_tokens: 3, temperature: 0.1 }),
    });
    assert.is(res.status, 200);
    await readRaw(
      `${url}/chat/completions?${API}`,
      { messages: [{ role: "user", content: "hi" }], stream: true, max_tokens: 2 },
      headers,
    );
    for (let i = 0; i < 100 && spans.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    assert.is(spans.length, 2, JSON.stringify(spans.map((s) => s.name)));
    const attrs = (s: OtlpSpan) => Object.fromEntries(s.attributes.map((a) => [a.key, Object.values(a.value)[0]]));
    const [plain, stream] = spans.map(attrs) as [Record<string, any>, Record<string, any>];
    assert.is(spans[0]!.name, "chat sim-org/sim-model-1");
    assert.is(spans[0]!.kind, 2, "SERVER");
    assert.is(spans[0]!.traceId, traceId, "continues the caller's trace");
    assert.is(spans[0]!.parentSpanId, "00f067aa0ba902b7");
    assert.is(plain["gen_ai.operation.name"], "chat");
    assert.is(plain["gen_ai.request.model"], "sim-org/sim-model-1");
    assert.is(Number(plain["gen_ai.usage.output_tokens"]), 3);
    assert.is(Number(plain["gen_ai.request.max_tokens"]), 3);
    assert.is(plain["http.route"], "/chat/completions");
    assert.ok(stream["gen_ai.response.time_to_first_chunk"] !== undefined, "stream span has TTFT");
    assert.is(Number(stream["gen_ai.usage.output_tokens"]), 2, "stream span ends after the usage arrived");
    const upstreamParent = String(sim.requests.find((r) => r.path === "/v1/chat/completions")!.headers.traceparent);
    assert.is(upstreamParent.split("-")[1], traceId);
    assert.is(upstreamParent.split("-")[2], spans[0]!.spanId, "the engine's parent is the gateway span");
  } finally {
    await gw.stop();
    collector.server.close();
    await sim.close();
  }
});

test("spans_name_the_deployment_the_replica_and_the_consumer", async () => {
  const [a, b] = [await new EngineSim().start(), await new EngineSim().start()];
  const file = join(mkdtempSync(join(tmpdir(), "traced-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n  - name: chat\n    urls: [${a.url}, ${b.url}]\n  - name: other\n    url: ${b.url}\n` +
      `consumers:\n  - name: team-a\n    key_sha256: [${createHash("sha256").update("team-a-key").digest("hex")}]\n`,
  );
  const spans: OtlpSpan[] = [];
  const collector = await startCollector(spans);
  const gw = await startTracedGateway(["--config", file], collector.url);
  try {
    const url = gw.url;
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${url}/openai/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", "api-key": "team-a-key" },
        body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }] }),
      });
      assert.is(res.status, 200);
    }
    for (let i = 0; i < 100 && spans.filter((s) => s.name.startsWith("chat")).length < 2; i++)
      await new Promise((r) => setTimeout(r, 50));
    const chats = spans
      .filter((s) => s.name.startsWith("chat"))
      .map((s) => Object.fromEntries(s.attributes.map((x) => [x.key, Object.values(x.value)[0]])));
    assert.equal(
      chats.map((c) => c["azure_openai_proxy.deployment"]),
      ["chat", "chat"],
    );
    assert.equal(
      chats.map((c) => c["azure_openai_proxy.replica"]).sort(),
      [new URL(a.url).host, new URL(b.url).host].sort(),
      "one request on each replica",
    );
    assert.equal(
      chats.map((c) => c["azure_openai_proxy.consumer"]),
      ["team-a", "team-a"],
    );
  } finally {
    await gw.stop();
    collector.server.close();
    await Promise.all([a.close(), b.close()]);
  }
});

test.run();
