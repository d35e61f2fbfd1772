import * as assert from "uvu/assert";
import { connect } from "node:net";
import { API, gatewaySuite, postJson } from "../helpers/gateway.ts";

const test = gatewaySuite("timeouts", [
  "--client-header-timeout",
  "300ms",
  "--client-request-timeout",
  "600ms",
  "--total-timeout",
  "400ms",
]);

/** Opens a raw connection, writes `pieces` `gapMs` apart, and reports how the server ended it. */
function trickle(url: string, pieces: string[], gapMs: number): Promise<{ closedAfterMs: number; response: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const started = Date.now();
    let response = "";
    const socket = connect(Number(port), hostname);
    let i = 0;
    const timer = setInterval(() => {
      if (i < pieces.length && !socket.destroyed) socket.write(pieces[i++]!);
    }, gapMs);
    socket.on("data", (d) => (response += d.toString()));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(timer);
      resolve({ closedAfterMs: Date.now() - started, response });
    });
  });
}

test("headers_trickled_are_cut_off", async ({ gw }) => {
  const pieces = [
    "POST /chat/completions?api-version=2025-04-01 HTTP/1.1\r\n",
    ...Array.from({ length: 40 }, (_, i) => `x-slow-${i}: 1\r\n`),
  ];
  const { closedAfterMs, response } = await trickle(gw.url, pieces, 100);
  assert.ok(closedAfterMs < 2500, `closed after ${closedAfterMs} ms`);
  assert.match(response, /^HTTP\/1\.1 408/);
});

test("body_trickled_is_cut_off", async ({ gw, sim }) => {
  const body = JSON.stringify({ messages: [{ role: "user", content: "x".repeat(200) }] });
  const head = `POST /chat/completions?api-version=2025-04-01 HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
  const pieces = [head, ...body.match(/.{1,5}/g)!];
  const { closedAfterMs } = await trickle(gw.url, pieces, 100);
  assert.ok(closedAfterMs < 3000, `closed after ${closedAfterMs} ms`);
  assert.is(
    sim.requests.filter((r) => r.method === "POST").length,
    0,
    "nothing reached the engine (but the readiness check's model list)",
  );
});

test("total_timeout_is_504_and_aborts_the_engine", async ({ gw, sim }) => {
  sim.next({ delayMs: 2000, json: {} });
  const started = Date.now();
  const res = await postJson(`${gw.url}/chat/completions?${API}`, { messages: [{ role: "user", content: "x" }] });
  assert.is(res.status, 504);
  assert.is(res.json.error.code, "UpstreamTimeout");
  assert.ok(Date.now() - started < 1500);
  assert.ok(await sim.waitForAbort(1000), "the engine request was cancelled");
});

test.run();
