// Compaction by the gateway (issue 38): the `openai` SDK's responses.compact on a conversation with tool
// calls answers its user messages and one sealed compaction item; sent back in input, the item is opened
// into the summary the engine is given, by this gateway, another one holding the same key (a replica, a
// restart) and on a bridged engine; a forged, altered or another caller's item is a 400; the pass is
// charged like any call. Simulators on loopback.
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { COMPACTION_PROMPT } from "../../src/dialects/openai/compaction.ts";
import { logged, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
  file: string;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("compaction");
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

test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.file = join(mkdtempSync(join(tmpdir(), "compaction-")), "deployments.yaml");
  writeFileSync(
    ctx.file,
    `deployments:
  - { name: native, url: ${ctx.sim.url}, responses_api: native }
  - { name: bridge, url: ${ctx.sim.url}, responses_api: chat }
consumers:
  - { name: team-a, keys_env: [TEAM_A_KEY] }
  - { name: team-b, keys_env: [TEAM_B_KEY] }
`,
  );
  ctx.logs = [];
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", ctx.file, "--compaction-key", KEY], ctx.logs, ENV);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => {
  ctx.sim.reset();
  ctx.logs.length = 0;
});

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

test("another_gateway_with_the_key_opens_the_item_one_without_it_refuses_it", async ({ gw, sim, file }) => {
  const compacted = await client(gw).responses.compact({ model: "native", input: CONVERSATION as never });
  const input = [...compacted.output, { role: "user", content: "Go on." }] as never;
  // A replica, or this gateway after a restart: the same key.
  const replica = await startGateway("http://127.0.0.1:9", ["--config", file, "--compaction-key", KEY], undefined, ENV);
  const stranger = await startGateway(
    "http://127.0.0.1:9",
    ["--config", file, "--compaction-key", randomBytes(32).toString("hex")],
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

test.run();
