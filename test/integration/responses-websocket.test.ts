// The Responses API over WebSocket (issue 38): the `openai` SDK's own client (ResponsesWS) against
// /openai/v1/responses as against Azure, and a plain `ws` client for what the SDK hides: the upgrade refused
// with the HTTP status and envelope, one response at a time, the age limit, generate: false, store: false
// chains kept with the connection and gone with it, a consumer's limits charged per response, and a client
// that leaves aborting its engine request.
import OpenAI, { AzureOpenAI } from "openai";
import { ResponsesWS } from "openai/resources/responses/ws";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { pino } from "pino";
import { loadConfig } from "../../src/config.ts";
import { createGatewayServer } from "../../src/server.ts";
import { gatewaySuite, logged, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const TEAM = "team-key-0123456789";
const LIMITED = "limited-key-0123456789";

const test = gatewaySuite(
  "responses-websocket",
  (sim) => {
    const file = join(mkdtempSync(join(tmpdir(), "responses-ws-")), "deployments.yaml");
    writeFileSync(
      file,
      `deployments:
  - name: chat
    url: ${sim.url}
consumers:
  - name: team
    keys_env: [TEAM_KEY]
  - name: limited
    keys_env: [LIMITED_KEY]
    limits: { requests_per_minute: 2 }
`,
    );
    return ["--config", file, "--websocket-max-age", "60m"];
  },
  { TEAM_KEY: TEAM, LIMITED_KEY: LIMITED },
);

/** A plain WebSocket client that collects every message as JSON. */
class Socket {
  readonly events: any[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<number>;
  constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.events.push(JSON.parse(String(data)));
      this.waiters.splice(0).forEach((w) => w());
    });
    this.closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  }
  static async open(url: string, headers: Record<string, string>): Promise<Socket> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new Socket(ws);
  }
  send(event: object): void {
    this.ws.send(JSON.stringify(event));
  }
  /** Resolves with the first message (from `from` on) that `match` accepts. */
  async next(match: (event: any) => boolean, from = 0): Promise<any> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = this.events.slice(from).find(match);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no such message; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200);
      });
    }
  }
  /** The events of the next response (through its terminal event), from message index `from`. */
  async turn(from = this.events.length): Promise<any[]> {
    const end = await this.next(
      (e) => /^response\.(completed|failed|incomplete)$/.test(e.type) || e.type === "error",
      from,
    );
    return this.events.slice(from, this.events.indexOf(end, from) + 1);
  }
}

const wsUrl = (gw: RunningGateway, path: string) => gw.url.replace(/^http/, "ws") + path;
const responses = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");

test("the_sdks_websocket_client_creates_and_continues_responses_through_the_pipeline", async ({ gw, sim, logs }) => {
  const client = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: TEAM, maxRetries: 0 });
  const rws = new ResponsesWS(client);
  const events: any[] = [];
  const completed: any[] = [];
  rws.on("event", (event: any) => events.push(event));
  rws.on("response.completed", (event: any) => completed.push(event.response));
  const nextCompleted = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${completed.length} responses completed`)), 15_000);
      const check = () => (completed.length >= n ? (clearTimeout(timer), resolve()) : setTimeout(check, 10));
      check();
    });
  try {
    rws.send({ type: "response.create", model: "chat", input: "Tell me a story." } as never);
    await nextCompleted(1);
    const first = completed[0];
    assert.is(first.status, "completed");
    assert.is(first.model, "sim-org/sim-model-1");
    assert.equal(
      events.map((e) => e.sequence_number),
      events.map((_, i) => i),
      "the same numbering as the HTTP stream",
    );
    assert.is(responses(sim).length, 1);
    // Stored as over HTTP: read back with the same key, and continued on the socket.
    assert.is((await client.responses.retrieve(first.id)).id, first.id);
    rws.send({ type: "response.create", model: "chat", input: "More.", previous_response_id: first.id } as never);
    await nextCompleted(2);
    assert.is(responses(sim)[1]!.body.input.length, 3, "the stored turn and its answer came first");
    // Each create is a request of the pipeline: its log line names the consumer.
    const lines = await logged(logs, (l) => l.msg === "request" && l.path === "/openai/v1/responses", 2);
    assert.equal(
      lines.map((l) => [l.consumer, l.status, l.stream]),
      [
        ["team", 200, true],
        ["team", 200, true],
      ],
    );
  } finally {
    rws.close();
  }
});

test("the_sdks_websocket_client_as_AzureOpenAI_with_a_deployment_and_an_api_version", async ({ gw, sim, logs }) => {
  const client = new AzureOpenAI({
    endpoint: gw.url,
    apiKey: TEAM,
    apiVersion: "2025-04-01-preview",
    deployment: "chat",
    maxRetries: 0,
  });
  const rws = new ResponsesWS(client);
  try {
    const done = new Promise<any>((resolve, reject) => {
      rws.on("response.completed", (event: any) => resolve(event.response));
      rws.on("error", reject);
    });
    rws.send({ type: "response.create", model: "chat", input: "Hello." } as never);
    assert.is((await done).status, "completed");
    assert.is(responses(sim).length, 1);
    const [line] = await logged(logs, (l) => l.msg === "request" && l.method === "POST");
    assert.match(line!.path, /^\/openai\/(?:deployments\/chat\/)?responses$/, line!.path);
    assert.is(line!.consumer, "team");
  } finally {
    rws.close();
  }
});

test("the_upgrade_is_refused_with_the_http_status_and_the_dialects_envelope", async ({ gw }) => {
  for (const [path, headers, status, code] of [
    ["/openai/v1/responses", { "api-key": "wrong-key" }, 401, "Unauthorized"],
    ["/openai/v1/responses", {}, 401, "Unauthorized"],
    ["/v1/responses", { authorization: "Bearer wrong-key" }, 401, "unauthorized"],
    ["/openai/v1/chat/completions", { "api-key": TEAM }, 404, "NotFound"],
  ] as const) {
    const ws = new WebSocket(wsUrl(gw, path), { headers });
    const [answer, body] = await new Promise<[number, string]>((resolve, reject) => {
      ws.once("open", () => reject(new Error(`${path} upgraded`)));
      ws.once("unexpected-response", (_req, res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk));
        res.on("end", () => resolve([res.statusCode ?? 0, text]));
      });
      ws.once("error", () => {});
    });
    assert.is(answer, status, path);
    assert.is(JSON.parse(body).error.code, code, body);
  }
});

test("one_response_at_a_time_and_a_leaving_client_aborts_its_engine_request", async ({ gw, sim }) => {
  const socket = await Socket.open(wsUrl(gw, "/openai/v1/responses"), { "api-key": TEAM });
  socket.send({ type: "response.create", model: "chat", input: "A long one.", sim_gap_ms: 200 });
  await socket.next((e) => e.type === "response.output_text.delta");
  socket.send({ type: "response.create", model: "chat", input: "Too soon." });
  const refused = await socket.next((e) => e.type === "error");
  assert.is(refused.error.code, "response_in_progress");
  assert.is(refused.status, 400);
  assert.is(responses(sim).length, 1, "the second create never reached the engine");
  socket.ws.close();
  assert.ok(await sim.waitForAbort(5000), "the engine request was aborted with the socket");
});

test("store_false_chains_live_with_the_connection_and_go_with_it", async ({ gw, sim }) => {
  const socket = await Socket.open(wsUrl(gw, "/openai/v1/responses"), { "api-key": TEAM });
  socket.send({ type: "response.create", model: "chat", input: "First.", store: false });
  const first = (await socket.turn(0)).at(-1).response;
  assert.is(first.store, false);
  socket.send({
    type: "response.create",
    model: "chat",
    input: "Second.",
    store: false,
    previous_response_id: first.id,
  });
  const second = (await socket.turn()).at(-1).response;
  assert.is(second.status, "completed");
  const sent = responses(sim)[1]!.body;
  assert.is(sent.previous_response_id, undefined);
  assert.equal(
    sent.input.map((i: any) => i.role ?? i.type),
    ["user", "assistant", "user"],
    "the connection's chain, then the new turn",
  );
  // Not stored: another connection (or HTTP) does not know it.
  assert.is((await fetch(`${gw.url}/openai/v1/responses/${first.id}`, { headers: { "api-key": TEAM } })).status, 404);
  socket.ws.close();
  const other = await Socket.open(wsUrl(gw, "/openai/v1/responses"), { "api-key": TEAM });
  other.send({ type: "response.create", model: "chat", input: "Third.", previous_response_id: second.id });
  const [gone] = await other.turn(0);
  assert.is(gone.type, "error");
  assert.is(gone.error.code, "previous_response_not_found");
  other.ws.close();
});

test("generate_false_warms_state_up_without_an_engine_call", async ({ gw, sim }) => {
  const socket = await Socket.open(wsUrl(gw, "/v1/responses"), { authorization: `Bearer ${TEAM}` });
  socket.send({
    type: "response.create",
    model: "chat",
    generate: false,
    instructions: "Be brief.",
    input: [{ type: "message", role: "user", content: "Context: a long document." }],
  });
  const warm = await socket.turn(0);
  assert.equal(
    warm.map((e) => e.type),
    ["response.created", "response.completed"],
  );
  const warmed = warm[1].response;
  assert.equal(warmed.output, []);
  assert.is(warmed.instructions, "Be brief.");
  assert.is(sim.calls.length, 0, "nothing generated");
  socket.send({ type: "response.create", model: "chat", input: "Summarise it.", previous_response_id: warmed.id });
  await socket.turn();
  assert.equal(
    responses(sim)[0]!.body.input.map((i: any) => i.content),
    ["Context: a long document.", "Summarise it."],
  );
  socket.ws.close();
});

test("a_consumers_limits_are_charged_per_response", async ({ gw }) => {
  const socket = await Socket.open(wsUrl(gw, "/openai/v1/responses"), { "api-key": LIMITED });
  const statuses: string[] = [];
  for (let i = 0; i < 3; i++) {
    socket.send({ type: "response.create", model: "chat", input: `Turn ${i}.` });
    const last = (await socket.turn()).at(-1);
    statuses.push(last.type === "error" ? `${last.status} ${last.error.code}` : last.type);
  }
  assert.equal(statuses, ["response.completed", "response.completed", "429 TooManyRequests"]);
  socket.ws.close();
});

test("the_connection_age_limit_is_said_after_the_response_in_flight_then_the_connection_closes", async ({ sim }) => {
  const gw = await startGateway(sim.url, ["--websocket-max-age", "300ms"]);
  try {
    const socket = await Socket.open(wsUrl(gw, "/openai/v1/responses"), {});
    socket.send({ type: "response.create", model: "m", input: "Slowly.", sim_gap_ms: 100 });
    const turn = await socket.turn(0);
    assert.is(turn.at(-1).type, "response.completed", "the response in flight finishes");
    assert.ok(turn.filter((e) => e.type === "response.output_text.delta").length > 3, "it outlived the limit");
    const limit = await socket.next((e) => e.type === "error");
    assert.is(limit.error.code, "websocket_connection_limit_reached");
    assert.match(limit.error.message, /limit of 0\.3 s/);
    assert.is(await socket.closed, 1000);
  } finally {
    await gw.close();
  }
});

test("a_tool_round_trip_continues_on_the_socket", async ({ gw, sim }) => {
  const socket = await Socket.open(wsUrl(gw, "/openai/v1/responses"), { "api-key": TEAM });
  const tools = [
    { type: "function", name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } },
  ];
  socket.send({ type: "response.create", model: "chat", input: "Weather in Paris?", tools });
  const asked = (await socket.turn(0)).at(-1).response;
  const call = asked.output.find((item: any) => item.type === "function_call");
  assert.ok(call, JSON.stringify(asked.output));
  socket.send({
    type: "response.create",
    model: "chat",
    tools,
    previous_response_id: asked.id,
    input: [{ type: "function_call_output", call_id: call.call_id, output: '{"celsius": 21}' }],
  });
  const answered = (await socket.turn()).at(-1).response;
  assert.is(answered.status, "completed");
  assert.equal(
    responses(sim)[1]!.body.input.map((i: any) => i.type ?? i.role),
    ["message", "function_call", "function_call_output"],
  );
  socket.ws.close();
});

test("a_message_over_the_body_limit_is_an_error_event_far_over_it_closes_the_connection", async ({ sim }) => {
  const gw = await startGateway(sim.url, ["--body-limit", "4kb"]);
  try {
    const socket = await Socket.open(wsUrl(gw, "/v1/responses"), {});
    socket.send({ type: "response.create", model: "m", input: "x".repeat(5_000) });
    const [tooLarge] = await socket.turn(0);
    assert.is(tooLarge.type, "error");
    assert.is(tooLarge.status, 413);
    assert.match(tooLarge.error.message, /over this gateway's limit of 4096 bytes/);
    socket.send({ type: "response.create", model: "m", input: "Small." });
    assert.is((await socket.turn()).at(-1).type, "response.completed", "the connection stays usable");
    socket.send({ type: "response.create", model: "m", input: "x".repeat(10_000) });
    assert.is(await socket.closed, 1009);
    // The server counts the close when its side of the connection has closed too.
    const deadline = Date.now() + 10_000;
    let text = "";
    while (!/gateway_websocket_closes_total\{reason="too_large"\} 1/.test(text) && Date.now() < deadline)
      text = await (await fetch(`${gw.url}/metrics`)).text();
    assert.match(text, /gateway_websocket_closes_total\{reason="too_large"\} 1/);
  } finally {
    await gw.close();
  }
});

test("on_shutdown_the_response_in_flight_finishes_then_the_socket_goes_away", async ({ sim }) => {
  const config = loadConfig(
    ["--host", "127.0.0.1", "--port", "0", "--upstream-host", sim.url, "--store", "memory:"],
    {},
  );
  const gateway = createGatewayServer(config, pino({ level: "silent" }));
  const url = await gateway.listen();
  const socket = await Socket.open(`${url.replace(/^http/, "ws")}/openai/v1/responses`, {});
  const idle = await Socket.open(`${url.replace(/^http/, "ws")}/openai/v1/responses`, {});
  socket.send({ type: "response.create", model: "m", input: "Slowly.", sim_gap_ms: 60 });
  await socket.next((e) => e.type === "response.output_text.delta");
  const drained = gateway.drain();
  assert.is(await idle.closed, 1001, "an idle socket goes away at once");
  const turn = await socket.turn(0);
  assert.is(turn.at(-1).type, "response.completed", "the response in flight finishes");
  assert.is(await socket.closed, 1001);
  await drained;
});

test.run();
