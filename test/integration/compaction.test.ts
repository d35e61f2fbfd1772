// Compaction by the gateway (issue 38): the `openai` SDK's responses.compact on a conversation with tool
// calls answers its user messages and one sealed compaction item; sent back in input, the item is opened
// into the summary the engine is given, by this gateway, another one holding the same key (a replica, a
// restart) and on a bridged engine; a forged, altered or another caller's item is a 400; the pass is
// charged like any call. Simulators on loopback.
import OpenAI from "openai";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPACTION_PROMPT } from "../../src/dialects/openai/compaction.ts";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { gatewaySuite, logged, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const KEY = randomBytes(32).toString("base64");
const ENV = { TEAM_A_KEY: "team-a-key-0123456789", TEAM_B_KEY: "team-b-key-0123456789" };

const CONVERSATION = [
  { role: "user", content: "What is the weather in Paris?" },
  { type: "function_call", call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}' },
  { type: "function_call_output", call_id: "call_1", output: '{"celsius":21}' },
  { role: "assistant", content: "It is 21 °C in Paris." },
  { role: "user", content: "And tomorrow?" },
  { role: "assistant", content: "Tomorrow looks rainy." },
];

/** The deployments file, for a second gateway on the same configuration. */
let deploymentsFile = "";
const test = gatewaySuite(
  "compaction",
  (sim) => {
    deploymentsFile = join(mkdtempSync(join(tmpdir(), "compaction-")), "deployments.yaml");
    writeFileSync(
      deploymentsFile,
      `deployments:
  - { name: native, url: ${sim.url}, responses_api: native }
  - { name: bridge, url: ${sim.url}, responses_api: chat }
consumers:
  - { name: team-a, keys_env: [TEAM_A_KEY] }
  - { name: team-b, keys_env: [TEAM_B_KEY] }
`,
    );
    return ["--config", deploymentsFile, "--compaction-key", KEY];
  },
  ENV,
);

const client = (gw: RunningGateway, key = ENV.TEAM_A_KEY) =>
  new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });
const enginePosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST");

for (const deployment of ["native", "bridge"] as const)
  test(`compact_answers_the_user_messages_and_one_sealed_item_${deployment}`, async ({ gw, sim, logs }) => {
    const compacted = await client(gw).responses.compact({ model: deployment, input: CONVERSATION as never });
    assert.is(compacted.object, "response.compaction");
    assert.equal(
      compacted.output.map((item: any) => [item.type, item.role ?? null]),
      [
        ["message", "user"],
        ["message", "user"],
        ["compaction", null],
      ],
    );
    assert.equal(
      compacted.output.slice(0, 2).map((m: any) => m.content[0].text),
      ["What is the weather in Paris?", "And tomorrow?"],
    );
    const item: any = compacted.output[2];
    assert.match(item.encrypted_content, /^aop1\./);
    for (const view of [
      item.encrypted_content,
      Buffer.from(item.encrypted_content.slice(5), "base64url").toString("latin1"),
    ])
      assert.not.ok(view.includes("quick brown fox"), "opaque: the summary cannot be read from the item");
    // The summary pass: the whole conversation to the deployment's own model, under the gateway's prompt.
    const [pass] = enginePosts(sim);
    assert.is(pass!.path, deployment === "native" ? "/v1/responses" : "/v1/chat/completions");
    assert.ok(JSON.stringify(pass!.body).includes(COMPACTION_PROMPT.slice(0, 60)), "the prompt went to the engine");
    assert.ok(JSON.stringify(pass!.body).includes("get_weather"), "tool calls are summarised too");
    assert.ok(compacted.usage.input_tokens > 0, "the pass has its usage");
    const [line] = await logged(logs, (l) => l.msg === "request" && l.path === "/openai/v1/responses/compact");
    assert.is(line!.consumer, "team-a");
    assert.ok(line!.promptTokens > 0, "and is charged like any call");

    // Sent back: the engine is given the summary in the item's place; clients never see it.
    sim.reset();
    const next = await client(gw).responses.create({
      model: deployment,
      input: [...compacted.output, { role: "user", content: "Should I take an umbrella?" }] as never,
    });
    assert.is(next.status, "completed");
    const sent = JSON.stringify(enginePosts(sim)[0]!.body);
    assert.match(sent, /\[Summary of the conversation so far\]\\nThe quick brown fox/);
    assert.not.match(sent, /aop1\./, "the engine never sees the sealed item");
    const items = await client(gw).responses.inputItems.list(next.id);
    assert.ok(
      items.data.some((i: any) => i.type === "compaction"),
      "what is stored keeps the sealed item, not the summary",
    );
  });

test("another_gateway_with_the_key_opens_the_item_one_without_it_refuses_it", async ({ gw, sim }) => {
  const compacted = await client(gw).responses.compact({ model: "native", input: CONVERSATION as never });
  const input = [...compacted.output, { role: "user", content: "Go on." }] as never;
  // A replica, or this gateway after a restart: the same key.
  const replica = await startGateway(
    "http://127.0.0.1:9",
    ["--config", deploymentsFile, "--compaction-key", KEY],
    undefined,
    ENV,
  );
  const stranger = await startGateway(
    "http://127.0.0.1:9",
    ["--config", deploymentsFile, "--compaction-key", randomBytes(32).toString("hex")],
    undefined,
    ENV,
  );
  try {
    sim.reset();
    assert.is((await client(replica).responses.create({ model: "native", input })).status, "completed");
    assert.match(JSON.stringify(enginePosts(sim)[0]!.body), /The quick brown fox/);
    const refused = await client(stranger)
      .responses.create({ model: "native", input })
      .catch((e: unknown) => e);
    assert.instance(refused, OpenAI.BadRequestError);
    assert.is((refused as any).error.code, "invalid_encrypted_content");
  } finally {
    await replica.close();
    await stranger.close();
  }
});

test("an_altered_or_another_callers_item_is_refused_before_the_engine", async ({ gw, sim }) => {
  const compacted = await client(gw).responses.compact({ model: "native", input: CONVERSATION as never });
  const item: any = compacted.output.at(-1);
  const flipped =
    item.encrypted_content.slice(0, -3) +
    (item.encrypted_content.at(-3) === "A" ? "B" : "A") +
    item.encrypted_content.slice(-2);
  sim.reset();
  for (const [key, content] of [
    [ENV.TEAM_A_KEY, flipped],
    [ENV.TEAM_A_KEY, "aop1.bm90IHNlYWxlZA"],
    [ENV.TEAM_A_KEY, "a summary I wrote myself"],
    [ENV.TEAM_B_KEY, item.encrypted_content], // sealed for team-a
  ] as const) {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body: JSON.stringify({
        model: "native",
        input: [
          { ...item, encrypted_content: content },
          { role: "user", content: "Hi." },
        ],
      }),
    });
    assert.is(res.status, 400);
    const body = (await res.json()) as any;
    assert.equal([body.error.code, body.error.param], ["invalid_encrypted_content", "input"]);
  }
  // A forged item before a genuine one (which supersedes it) is refused too.
  const superseded = await fetch(`${gw.url}/v1/responses`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ENV.TEAM_A_KEY}` },
    body: JSON.stringify({
      model: "native",
      input: [{ ...item, encrypted_content: flipped }, item, { role: "user", content: "Hi." }],
    }),
  });
  assert.is(superseded.status, 400);
  assert.is(enginePosts(sim).length, 0, "nothing reached the engine");
});

test("compact_continues_a_stored_chain_from_previous_response_id", async ({ gw, sim }) => {
  const first = await client(gw).responses.create({ model: "native", input: "Remember the number 42." });
  const compacted = await client(gw).responses.compact({ model: "native", previous_response_id: first.id } as never);
  assert.equal(
    compacted.output.map((i: any) => i.type),
    ["message", "compaction"],
  );
  assert.is((compacted.output[0] as any).content[0].text, "Remember the number 42.");
  const pass = JSON.stringify(enginePosts(sim).at(-1)!.body);
  assert.ok(pass.includes("Remember the number 42.") && pass.includes("The quick brown fox"), pass);
});

/** A first turn of about 1,300 estimated tokens: past the API's smallest compact_threshold (1,000). */
const LONG = `Remember the number 42, please. ${"Here is some background for it. ".repeat(160)}`;

test("context_management_compacts_a_conversation_past_its_threshold_first", async ({ gw, sim }) => {
  const openai = client(gw);
  const first = await openai.responses.create({ model: "native", input: LONG });
  const second = await openai.responses.create({
    model: "native",
    input: "And the colour blue.",
    previous_response_id: first.id,
  });
  const settings = { context_management: [{ type: "compaction", compact_threshold: 1000 }] };
  // Below the threshold nothing happens.
  sim.reset();
  const quiet = await openai.responses.create({
    model: "native",
    input: "Hi.",
    context_management: [{ type: "compaction", compact_threshold: 100_000 }],
  } as never);
  assert.not.ok(quiet.output.some((i: any) => i.type === "compaction"));
  assert.is(enginePosts(sim).length, 1);

  sim.reset();
  const third = await openai.responses.create({
    model: "native",
    input: "What did I ask you to remember?",
    previous_response_id: second.id,
    ...settings,
  } as never);
  const [pass, answer] = enginePosts(sim);
  assert.ok(JSON.stringify(pass!.body).includes(COMPACTION_PROMPT.slice(0, 60)), "the summary pass came first");
  assert.equal(
    answer!.body.input.map((i: any) => (i.role === "assistant" ? i.content.split("\n")[0] : i.content.slice(0, 31))),
    [
      "Remember the number 42, please.",
      "And the colour blue.",
      "[Summary of the conversation so far]",
      "What did I ask you to remember?",
    ],
    "the user messages, the summary, the turn",
  );
  assert.is(third.output[0]!.type, "compaction", "the sealed item leads the output");
  // The simulator counts a call's input as its JSON length / 4: the usage is both calls'.
  const inputOf = (body: any) => JSON.stringify(body.input).length >> 2;
  assert.is(third.usage!.input_tokens, inputOf(pass!.body) + inputOf(answer!.body), "the pass's tokens are counted");
  // A later turn carries the compaction on: what it stands for is not sent again.
  sim.reset();
  await openai.responses.create({ model: "native", input: "Thanks.", previous_response_id: third.id });
  const carried = enginePosts(sim)[0]!.body.input;
  assert.equal(
    carried.map((i: any) => i.role ?? i.type),
    // Every user message, the summary, the compacted turn's answer, the new turn.
    ["user", "user", "user", "assistant", "assistant", "user"],
  );
  assert.match(carried[3].content, /^\[Summary of the conversation so far\]/);
  assert.not.ok(JSON.stringify(carried).includes("aop1."), "the engine never sees the sealed item");
});

test("a_streamed_create_past_its_threshold_announces_the_compaction_item_first", async ({ gw, sim, logs }) => {
  const openai = client(gw);
  const first = await openai.responses.create({ model: "bridge", input: LONG });
  sim.reset();
  logs.length = 0;
  const stream = await openai.responses.create({
    model: "bridge",
    input: "What was it?",
    previous_response_id: first.id,
    stream: true,
    context_management: [{ type: "compaction", compact_threshold: 1000 }],
  } as never);
  const events: any[] = [];
  for await (const event of stream as unknown as AsyncIterable<any>) events.push(event);
  for (const event of events) assertOpenAISchema("ResponseStreamEvent", event);
  assert.equal(
    events.map((e) => e.sequence_number),
    events.map((_, i) => i),
  );
  assert.equal(
    events.slice(0, 3).map((e) => [e.type, e.output_index ?? null, e.item?.type ?? null]),
    [
      ["response.created", null, null],
      ["response.output_item.added", 0, "compaction"],
      ["response.output_item.done", 0, "compaction"],
    ],
  );
  assert.ok(
    events.filter((e) => e.type === "response.output_text.delta").every((e) => e.output_index === 1),
    "the engine's items come after it",
  );
  const done = events.at(-1).response;
  assert.equal(
    done.output.map((i: any) => i.type),
    ["compaction", "message"],
  );
  const [pass, answer] = enginePosts(sim);
  assert.ok(pass && answer, "a summary pass, then the answer");
  const [line] = await logged(logs, (l) => l.msg === "request" && l.path === "/openai/v1/responses");
  assert.is(line!.promptTokens, done.usage.input_tokens, "the pass is charged with the answer");
  assert.ok(done.usage.input_tokens > answer!.body.messages.length, "both calls' tokens");
});

test.run();
