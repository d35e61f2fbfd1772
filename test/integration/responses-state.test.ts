// The Responses state the gateway keeps (issue 24, first part) in front of an engine that keeps nothing
// useful to the client: stored responses under the gateway's ids, previous_response_id rebuilt into the whole
// conversation, store: false, 404s as Azure answers them, ownership by credential, a restart on sqlite.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const KEYS = ["key-a", "key-b"];
interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
}
const test = suite<Ctx>("responses-state");

test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.gw = await startGateway(ctx.sim.url, ["--api-key", KEYS.join(",")]);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});
test.before.each((ctx) => ctx.sim.reset());

const client = (gw: RunningGateway, base: string, key = KEYS[0]!) =>
  new OpenAI({ baseURL: `${gw.url}${base}`, apiKey: key, maxRetries: 0 });
const enginePosts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST" && r.path === "/v1/responses");

for (const [dialect, base, model] of [
  ["azure-openai-v1", "/openai/v1", "my-deployment"],
  ["engine-v1", "/v1", "sim-org/sim-model-1"],
] as const) {
  test(`${dialect}:a_chain_of_turns_reaches_the_engine_whole`, async ({ gw, sim }) => {
    const openai = client(gw, base);
    const first = await openai.responses.create({ model, input: "My name is Ada.", instructions: "Be brief." });
    assert.match(first.id, /^resp_[0-9a-f]{48}$/);
    assert.is.not(first.id, enginePosts(sim)[0]!.body.id);
    const second = await openai.responses.create({ model, input: "What is my name?", previous_response_id: first.id });
    assert.is(second.previous_response_id, first.id);
    const sent = enginePosts(sim)[1]!.body;
    assert.is(sent.previous_response_id, undefined, "the engine never sees an id it does not know");
    assert.is(sent.store, false);
    assert.is(sent.instructions, undefined, "instructions are the turn's own");
    const texts = (sent.input as Array<any>).map((item) =>
      typeof item.content === "string" ? item.content : item.content?.[0]?.text,
    );
    assert.equal(texts, ["My name is Ada.", "The quick brown fox jumps over", "What is my name?"]);

    const third = await openai.responses.create({
      model,
      input: "And again?",
      previous_response_id: second.id,
      stream: true,
    });
    let streamedId = "";
    for await (const event of third) if (event.type === "response.completed") streamedId = event.response.id;
    assert.is((enginePosts(sim)[2]!.body.input as unknown[]).length, 5);
    const kept = await openai.responses.retrieve(streamedId);
    assert.is(kept.output_text, "The quick brown fox jumps over");
    const items = await openai.responses.inputItems.list(streamedId);
    assert.is(items.data.length, 5);
    assert.ok(items.data.every((item) => typeof item.id === "string"));
  });
}

test("store_false_keeps_nothing_and_unknown_ids_are_404_or_previous_response_not_found", async ({ gw, sim }) => {
  const openai = client(gw, "/openai/v1");
  const unstored = await openai.responses.create({ model: "d", input: "x", store: false });
  assert.instance(await openai.responses.retrieve(unstored.id).catch((e: unknown) => e), OpenAI.NotFoundError);
  const posts = enginePosts(sim).length;
  const missing = await openai.responses
    .create({ model: "d", input: "x", previous_response_id: unstored.id })
    .catch((e: unknown) => e);
  // As OpenAI answers a create that continues what it does not hold: agent clients resend the conversation.
  assert.instance(missing, OpenAI.BadRequestError);
  assert.is((missing as InstanceType<typeof OpenAI.BadRequestError>).code, "previous_response_not_found");
  assert.is((missing as InstanceType<typeof OpenAI.BadRequestError>).param, "previous_response_id");
  assert.match((missing as Error).message, /Previous response with id 'resp_[0-9a-f]+' not found/);
  assert.is(enginePosts(sim).length, posts, "the engine was not called");
});

test("a_response_belongs_to_the_credential_that_made_it", async ({ gw }) => {
  const mine = await client(gw, "/v1").responses.create({ model: "d", input: "secret plans" });
  const theirs = client(gw, "/v1", KEYS[1]);
  assert.instance(await theirs.responses.retrieve(mine.id).catch((e: unknown) => e), OpenAI.NotFoundError);
  assert.instance(await theirs.responses.delete(mine.id).catch((e: unknown) => e), OpenAI.NotFoundError);
  const continued = await theirs.responses
    .create({ model: "d", input: "x", previous_response_id: mine.id })
    .catch((e: unknown) => e);
  assert.instance(continued, OpenAI.BadRequestError);
  assert.is((continued as InstanceType<typeof OpenAI.BadRequestError>).code, "previous_response_not_found");
  assert.is((await client(gw, "/v1").responses.retrieve(mine.id)).id, mine.id, "still there for its owner");
});

test("a_conversation_survives_a_restart_on_sqlite", async ({ sim }) => {
  const store = `sqlite:${join(mkdtempSync(join(tmpdir(), "state-")), "state.db")}`;
  const first = await startGateway(sim.url, ["--store", store]);
  const made = await client(first, "/v1").responses.create({ model: "d", input: "Remember 42." });
  await first.close();
  const second = await startGateway(sim.url, ["--store", store]);
  try {
    const openai = client(second, "/v1");
    assert.is((await openai.responses.retrieve(made.id)).id, made.id);
    await openai.responses.create({ model: "d", input: "What number?", previous_response_id: made.id });
    assert.match(JSON.stringify(enginePosts(sim).at(-1)!.body.input), /Remember 42\./);
    await openai.responses.delete(made.id);
    assert.instance(await openai.responses.retrieve(made.id).catch((e: unknown) => e), OpenAI.NotFoundError);
  } finally {
    await second.close();
  }
});

test.run();
