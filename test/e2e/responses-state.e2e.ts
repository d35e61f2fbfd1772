// The Responses state against a real engine that keeps nothing (llama-server), both ways the gateway serves
// the API: the engine's own /v1/responses, and the bridge over its chat completions (a deployment declaring
// `responses_api: chat`): a previous_response_id chain, a conversation, a background run followed to its end.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;
const settings = { max_output_tokens: 16, temperature: 0 };

for (const way of ["native", "chat"] as const) {
  const test = suite<{ gw: RunningGateway; openai: OpenAI }>(`e2e-responses-state:${way}`);
  test.before(async (ctx) => {
    const file = join(mkdtempSync(join(tmpdir(), "aop-e2e-")), "deployments.yaml");
    writeFileSync(file, `deployments:\n  - name: chat\n    url: ${CHAT_URL}\n    responses_api: ${way}\n`);
    ctx.gw = await startGateway(CHAT_URL, ["--config", file, "--idle-timeout", "30s"]);
    ctx.openai = new OpenAI({ baseURL: `${ctx.gw.url}/openai/v1`, apiKey: "k", maxRetries: 0 });
  });
  test.after(async (ctx) => {
    await ctx.gw.close();
  });

  test("a_previous_response_id_chain", async ({ openai }) => {
    const first = await openai.responses.create({ model: "chat", input: "My name is Ada.", ...settings });
    const second = await openai.responses.create({
      model: "chat",
      input: "What is my name?",
      previous_response_id: first.id,
      ...settings,
    });
    assert.is(second.status === "completed" || second.status === "incomplete", true, second.status);
    assert.ok(second.usage!.input_tokens > first.usage!.input_tokens, "the engine read the earlier turn too");
    assert.is((await openai.responses.inputItems.list(second.id)).data.length, 3);
  });

  test("a_conversation", async ({ openai }) => {
    const conversation = await openai.conversations.create({
      items: [{ type: "message", role: "user", content: "Remember the word: lantern." }],
    });
    const first = await openai.responses.create({
      model: "chat",
      input: "Which word?",
      conversation: conversation.id,
      ...settings,
    });
    const second = await openai.responses.create({
      model: "chat",
      input: "Again?",
      conversation: conversation.id,
      ...settings,
    });
    assert.ok(second.usage!.input_tokens > first.usage!.input_tokens, "the thread grew");
    const items = await openai.conversations.items.list(conversation.id, { order: "asc" });
    assert.equal(
      items.data.map((item: any) => item.role),
      ["user", "user", "assistant", "user", "assistant"],
    );
  });

  test("a_background_run_followed_to_its_end", async ({ openai }) => {
    const queued = await openai.responses.create({
      model: "chat",
      input: "Count to five.",
      background: true,
      ...settings,
    });
    assert.is(queued.status, "queued");
    const events: any[] = [];
    for await (const event of await openai.responses.retrieve(queued.id, { stream: true })) events.push(event);
    assert.ok(["response.completed", "response.incomplete"].includes(events.at(-1).type), events.at(-1).type);
    assert.ok(events.some((e) => e.type === "response.output_text.delta"));
    const done = await openai.responses.retrieve(queued.id);
    assert.is(
      done.output_text,
      events
        .filter((e) => e.type === "response.output_text.delta")
        .map((e) => e.delta)
        .join(""),
    );
  });

  test.run();
}
