// The Conversations API kept by the gateway (issue 24), through the `openai` SDK in the two dialects that
// serve it: a conversation created with items, responses made in it (the engine gets the whole thread and
// keeps nothing), its items listed, added, read and deleted, ownership by credential, 404s as Azure answers.
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const KEYS = ["key-a", "key-b"];
const test = suite<{ sim: EngineSim; gw: RunningGateway }>("conversations");

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
const textOf = (item: any): string =>
  typeof item.content === "string" ? item.content : item.content?.map((part: any) => part.text).join("");

for (const [dialect, base, model] of [
  ["azure-openai-v1", "/openai/v1", "my-deployment"],
  ["engine-v1", "/v1", "sim-org/sim-model-1"],
] as const) {
  test(`${dialect}:responses_in_a_conversation_send_the_engine_the_thread_and_add_to_it`, async ({ gw, sim }) => {
    const openai = client(gw, base);
    const conversation = await openai.conversations.create({
      metadata: { topic: "names" },
      items: [{ type: "message", role: "user", content: "My name is Ada." }],
    });
    assert.match(conversation.id, /^conv_[0-9a-f]{48}$/);
    assert.equal(conversation.metadata, { topic: "names" });
    assert.is(conversation.object, "conversation");

    const first = await openai.responses.create({ model, input: "What is my name?", conversation: conversation.id });
    assert.equal(first.conversation, { id: conversation.id });
    const sent = sim.last("/v1/responses").body;
    assert.is(sent.conversation, undefined, "the engine never sees an id it does not know");
    assert.equal(sent.input.map(textOf), ["My name is Ada.", "What is my name?"]);

    // Streamed, and named as an object: the thread has grown by the first turn and its answer.
    const stream = await openai.responses.create({
      model,
      input: "Again?",
      conversation: { id: conversation.id },
      stream: true,
    });
    for await (const _event of stream);
    assert.equal(sim.last("/v1/responses").body.input.map(textOf), [
      "My name is Ada.",
      "What is my name?",
      first.output_text,
      "Again?",
    ]);

    const items = await openai.conversations.items.list(conversation.id, { order: "asc" });
    assert.equal(
      items.data.map((item: any) => [item.type, item.role]),
      [
        ["message", "user"],
        ["message", "user"],
        ["message", "assistant"],
        ["message", "user"],
        ["message", "assistant"],
      ],
    );
    const newestFirst = await openai.conversations.items.list(conversation.id, { limit: 2 });
    assert.equal(
      newestFirst.data.map((item: any) => item.id),
      items.data
        .slice(-2)
        .reverse()
        .map((item: any) => item.id),
    );
    assert.is(newestFirst.has_more, true);

    const added = await openai.conversations.items.create(conversation.id, {
      items: [{ type: "message", role: "user", content: "Added by hand." }],
    });
    const addedId = added.data[0]!.id!;
    const read = await openai.conversations.items.retrieve(addedId, { conversation_id: conversation.id });
    assert.equal((read as any).content, [{ type: "input_text", text: "Added by hand." }]);
    const after = await openai.conversations.items.delete(addedId, { conversation_id: conversation.id });
    assert.is(after.id, conversation.id);
    const gone = await openai.conversations.items
      .retrieve(addedId, { conversation_id: conversation.id })
      .catch((e: unknown) => e);
    assert.instance(gone, OpenAI.NotFoundError);

    const updated = await openai.conversations.update(conversation.id, { metadata: { topic: "renamed" } });
    assert.equal(updated.metadata, { topic: "renamed" });
    assert.equal((await openai.conversations.retrieve(conversation.id)).metadata, { topic: "renamed" });
    const deleted = await openai.conversations.delete(conversation.id);
    assert.equal(deleted, { id: conversation.id, object: "conversation.deleted", deleted: true });
    const missing = await openai.conversations.retrieve(conversation.id).catch((e: unknown) => e);
    assert.instance(missing, OpenAI.NotFoundError);
    assert.match((missing as InstanceType<typeof OpenAI.NotFoundError>).message, /Conversation with id 'conv_/);
  });

  test(`${dialect}:a_conversation_is_its_creators`, async ({ gw }) => {
    const conversation = await client(gw, base).conversations.create({});
    const other = client(gw, base, KEYS[1]);
    for (const call of [
      () => other.conversations.retrieve(conversation.id),
      () => other.conversations.items.list(conversation.id),
      () => other.conversations.delete(conversation.id),
      () => other.responses.create({ model, input: "hi", conversation: conversation.id }),
    ]) {
      const err = await call().catch((e: unknown) => e);
      assert.instance(err, OpenAI.NotFoundError);
    }
    assert.is((await client(gw, base).conversations.retrieve(conversation.id)).id, conversation.id);
  });

  test(`${dialect}:bad_conversation_requests_are_400s_naming_the_field`, async ({ gw, sim }) => {
    const openai = client(gw, base);
    const conversation = await openai.conversations.create({});
    const tooMany = await openai.conversations.items
      .create(conversation.id, {
        items: Array.from({ length: 21 }, () => ({ type: "message" as const, role: "user" as const, content: "x" })),
      })
      .catch((e: unknown) => e);
    assert.instance(tooMany, OpenAI.BadRequestError);
    assert.match(String((tooMany as Error).message), /items/);
    const both = await openai.responses
      .create({ model, input: "hi", conversation: conversation.id, previous_response_id: "resp_x" })
      .catch((e: unknown) => e);
    assert.instance(both, OpenAI.BadRequestError);
    const noMetadata = await openai.conversations.update(conversation.id, {} as never).catch((e: unknown) => e);
    assert.instance(noMetadata, OpenAI.BadRequestError);
    assert.is(sim.requests.filter((r) => r.method === "POST").length, 0, "nothing reached the engine");
  });
}

test.run();
