// The Responses API over chat completions for an engine that has none (TGI; the simulator with
// `noResponses`): asked for /v1/responses once, then served by the bridge; what the engine receives as chat,
// what the client reads as Responses (JSON and typed events), a tool round trip, structured output, the
// stream's usage, background and conversations over it; what chat cannot carry is a 400 naming it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const MODEL = "my-deployment";
const test = suite<{ sim: EngineSim; gw: RunningGateway }>("responses-bridge");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.gw = await startGateway(ctx.sim.url, []);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => {
  ctx.sim.reset();
  ctx.sim.noResponses = true;
});

const client = (gw: RunningGateway) => new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: "k", maxRetries: 0 });
const chats = (sim: EngineSim) => sim.requests.filter((r) => r.path === "/v1/chat/completions").map((r) => r.body);

test("the_engine_is_asked_for_responses_once_then_served_over_chat", async ({ gw, sim }) => {
  const openai = client(gw);
  const first = await openai.responses.create({ model: MODEL, instructions: "Be brief.", input: "Say hello." });
  const second = await openai.responses.create({ model: MODEL, input: "Again." });
  assert.is(first.output_text, "The quick brown fox jumps over");
  assert.is(first.status, "completed");
  assert.ok(first.usage!.output_tokens > 0);
  assert.is(second.object, "response");
  const paths = sim.requests.filter((r) => r.method === "POST").map((r) => r.path);
  // Asked once (the 404), then never again: the second call went straight to chat.
  assert.equal(paths, ["/v1/responses", "/v1/chat/completions", "/v1/chat/completions"], "a 404 is remembered");
  assert.equal(chats(sim)[0]!.messages, [
    { role: "system", content: "Be brief." },
    { role: "user", content: "Say hello." },
  ]);
  // And the chain continues through the gateway's store.
  await openai.responses.create({ model: MODEL, input: "And?", previous_response_id: first.id });
  assert.equal(
    chats(sim)
      .at(-1)!
      .messages.map((m: any) => m.role),
    ["user", "assistant", "user"],
  );
});

test("a_tool_round_trip_and_structured_output", async ({ gw, sim }) => {
  const openai = client(gw);
  const tools = [
    {
      type: "function" as const,
      name: "get_weather",
      description: "Weather of a city",
      parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris"] } }, required: ["city"] },
      strict: true,
    },
  ];
  const asked = await openai.responses.create({ model: MODEL, input: "Weather in Paris?", tools });
  const call = asked.output.find((item) => item.type === "function_call")!;
  assert.ok(call, "the chat tool call is a function_call item");
  assert.equal(JSON.parse((call as any).arguments), { city: "Paris" });
  assert.equal(chats(sim).at(-1)!.tools[0], {
    type: "function",
    function: {
      name: "get_weather",
      description: "Weather of a city",
      parameters: tools[0]!.parameters,
      strict: true,
    },
  });
  const answered = await openai.responses.create({
    model: MODEL,
    tools,
    previous_response_id: asked.id,
    input: [{ type: "function_call_output", call_id: (call as any).call_id, output: "sunny" }],
  });
  assert.is(answered.output_text, "The quick brown fox jumps over");
  const messages = chats(sim).at(-1)!.messages;
  assert.equal(messages.at(-2).tool_calls[0].id, (call as any).call_id);
  assert.equal(messages.at(-1), { role: "tool", tool_call_id: (call as any).call_id, content: "sunny" });

  const structured = await openai.responses.create({
    model: MODEL,
    input: "Forecast as JSON.",
    text: {
      format: {
        type: "json_schema",
        name: "forecast",
        strict: true,
        schema: { type: "object", properties: { celsius: { type: "integer" } }, required: ["celsius"] },
      },
    },
  });
  assert.equal(chats(sim).at(-1)!.response_format.type, "json_schema");
  assert.is(chats(sim).at(-1)!.response_format.json_schema.name, "forecast");
  assert.type(JSON.parse(structured.output_text).celsius, "number");
});

test("the_stream_is_typed_responses_events_with_usage", async ({ gw, sim }) => {
  const stream = await client(gw).responses.create({ model: MODEL, input: "Say hello.", stream: true });
  const events: any[] = [];
  for await (const event of stream) events.push(event);
  assert.equal(
    events.slice(0, 2).map((e) => e.type),
    ["response.created", "response.in_progress"],
  );
  assert.is(events.at(-1).type, "response.completed");
  assert.equal(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta);
  assert.is(text.join(""), "The quick brown fox jumps over");
  assert.is(events.at(-1).response.usage.output_tokens, 6);
  assert.is(chats(sim).at(-1)!.stream_options.include_usage, true, "usage asked for");
});

test("background_and_conversations_over_the_bridge", async ({ gw }) => {
  const openai = client(gw);
  const conversation = await openai.conversations.create({});
  const queued = await openai.responses.create({
    model: MODEL,
    input: "Go.",
    background: true,
    conversation: conversation.id,
  });
  for await (const _event of await openai.responses.retrieve(queued.id, { stream: true }));
  assert.is((await openai.responses.retrieve(queued.id)).output_text, "The quick brown fox jumps over");
  const items = await openai.conversations.items.list(conversation.id, { order: "asc" });
  assert.equal(
    items.data.map((item: any) => item.role),
    ["user", "assistant"],
  );
});

test("what_chat_cannot_carry_is_a_400_naming_it", async ({ gw, sim }) => {
  const openai = client(gw);
  await openai.responses.create({ model: MODEL, input: "warm up" }); // the engine's 404 is now known
  const before = chats(sim).length;
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ tools: [{ type: "web_search_preview" }] }, /tool 'web_search_preview'/],
    [{ include: ["reasoning.encrypted_content"] }, /include 'reasoning.encrypted_content'/],
    [{ truncation: "auto" }, /truncation 'auto'/],
    [
      { input: [{ type: "web_search_call", id: "ws_1", status: "completed", action: { type: "search", query: "x" } }] },
      /input item 'web_search_call'/,
    ],
    [{ input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, /content part 'input_file'/],
  ];
  for (const [extra, message] of cases) {
    const err = await openai.responses.create({ model: MODEL, input: "x", ...extra } as never).catch((e: unknown) => e);
    assert.instance(err, OpenAI.BadRequestError, JSON.stringify(extra));
    assert.match((err as Error).message, message);
    assert.match((err as Error).message, /no Responses API/);
  }
  assert.is(chats(sim).length, before, "nothing reached the engine");
});

test.run();

const declared = suite("responses-bridge:declared");
declared("a_deployment_declares_how_responses_are_served_and_replicas_share_the_chain", async () => {
  const [tgi, a, b] = await Promise.all([new EngineSim().start(), new EngineSim().start(), new EngineSim().start()]);
  const file = join(mkdtempSync(join(tmpdir(), "aop-bridge-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: over-chat
    url: ${tgi.url}
    responses_api: chat
  - name: native-only
    url: ${tgi.url}
    responses_api: native
  - name: replicated
    urls: [${a.url}, ${b.url}]
`,
  );
  tgi.noResponses = true;
  const gw = await startGateway(tgi.url, ["--config", file]);
  try {
    const openai = client(gw);
    await openai.responses.create({ model: "over-chat", input: "x" });
    assert.is(tgi.requests.filter((r) => r.path === "/v1/responses").length, 0, "declared: never asked");
    const refused = await openai.responses.create({ model: "native-only", input: "x" }).catch((e: unknown) => e);
    assert.instance(refused, OpenAI.NotFoundError, "native: the engine's 404 stands");
    // A chain stays on the replica that served its first turn (its prefix cache holds the conversation)...
    let previous: string | undefined;
    const turn = async (n: number) => {
      const response = await openai.responses.create({
        model: "replicated",
        input: `turn ${n}`,
        ...(previous ? { previous_response_id: previous } : {}),
      });
      previous = response.id;
    };
    for (let n = 0; n < 3; n++) await turn(n);
    const served = (sim: EngineSim) => sim.requests.filter((r) => r.path === "/v1/responses");
    const [warm, cold] = served(a).length > 0 ? [a, b] : [b, a];
    assert.is(served(warm).length, 3, "every turn went back to the warm replica");
    assert.is(served(cold).length, 0);
    // ...and continues on the other once it is gone, with the whole conversation from the store.
    await warm.close();
    await turn(3);
    assert.is(served(cold).length, 1, "the other replica took the next turn");
    assert.is(served(cold)[0]!.body.input.length, 7, "the last turn carried the whole conversation");
  } finally {
    await gw.close();
    await Promise.allSettled([tgi.close(), a.close(), b.close()]);
  }
});
declared.run();
