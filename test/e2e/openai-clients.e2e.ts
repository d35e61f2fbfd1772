// The `openai` package's three Azure set-ups (test/helpers/openai-clients.ts) against the gateway in
// front of real engines: chat, streaming with usage, legacy completions, the Responses API plain and
// streamed, models, embeddings (the SDK's default base64 against floats), an engine 400 and a
// disconnect. The tiny models produce gibberish: assertions are on structure, counts and agreement.
// Bodies are checked against the OpenAI spec where llama.cpp's answers follow it (completions, models,
// embeddings); its chat choices omit `logprobs` and its Responses objects `error` and other required
// fields, which the gateway passes on as the engine sent them.
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { requestsProcessing } from "./engine-busy.ts";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { CLIENT_SETUPS } from "../helpers/openai-clients.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;
const EMBED_URL = process.env.E2E_EMBED_URL!;
const KEY = "e2e-key";

interface Ctx {
  chat: RunningGateway;
  embed: RunningGateway;
  chatModel: string;
  embedModel: string;
}

const servedId = async (engine: string) =>
  ((await (await fetch(`${engine}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;

for (const setUp of CLIENT_SETUPS) {
  const test = suite<Ctx>(`e2e-openai:${setUp.name}`);
  test.before(async (ctx) => {
    ctx.chat = await startGateway(CHAT_URL, ["--idle-timeout", "30s", "--api-key", KEY]);
    ctx.embed = await startGateway(EMBED_URL, ["--upstream-type", "embeddings", "--api-key", KEY]);
    ctx.chatModel = setUp.model(await servedId(CHAT_URL));
    ctx.embedModel = setUp.model(await servedId(EMBED_URL));
  });
  test.after(async (ctx) => {
    await ctx.chat?.close();
    await ctx.embed?.close();
  });
  const chatClient = (ctx: Ctx) => setUp.client(ctx.chat.url, KEY);

  test("chat_and_its_stream_agree", async (ctx) => {
    const body = {
      model: ctx.chatModel,
      messages: [{ role: "user" as const, content: "Say hello." }],
      max_tokens: 8,
      temperature: 0,
      seed: 3,
    };
    const plain = await chatClient(ctx).chat.completions.create(body);
    assert.ok(plain.usage!.prompt_tokens > 0);
    assert.ok(plain.usage!.completion_tokens <= 8);
    const stream = await chatClient(ctx).chat.completions.create({
      ...body,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      usage = chunk.usage ?? usage;
    }
    assert.is(text, plain.choices[0]!.message.content);
    assert.is(usage?.completion_tokens, plain.usage!.completion_tokens);
  });

  test("legacy_completions", async (ctx) => {
    const plain = await chatClient(ctx).completions.create({
      model: ctx.chatModel,
      prompt: "Once upon a time",
      max_tokens: 5,
      temperature: 0,
    });
    assertOpenAISchema("CreateCompletionResponse", plain);
    assert.type(plain.choices[0]!.text, "string");
    assert.ok(plain.usage!.completion_tokens <= 5);
    let text = "";
    for await (const chunk of await chatClient(ctx).completions.create({
      model: ctx.chatModel,
      prompt: "Once upon a time",
      max_tokens: 5,
      temperature: 0,
      stream: true,
    }))
      text += chunk.choices[0]?.text ?? "";
    assert.is(text, plain.choices[0]!.text);
  });

  test("responses_plain_and_streamed", async (ctx) => {
    const plain = await chatClient(ctx).responses.create({
      model: ctx.chatModel,
      input: "Say hello.",
      max_output_tokens: 16,
      temperature: 0,
    });
    assert.is(plain.object, "response");
    assert.is(plain.status, "completed");
    assert.ok(plain.output_text.length > 0);
    const stream = await chatClient(ctx).responses.create({
      model: ctx.chatModel,
      input: "Say hello.",
      max_output_tokens: 16,
      temperature: 0,
      stream: true,
    });
    let text = "";
    let sequence = -1;
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      assert.is(event.sequence_number, sequence + 1, "events are numbered in order");
      sequence = event.sequence_number;
      if (event.type === "response.output_text.delta") text += event.delta;
      if (event.type === "response.completed") completed = event.response;
    }
    assert.is(text, plain.output_text);
    assert.is(completed?.status, "completed");
  });

  test("a_previous_response_id_chain_on_an_engine_that_keeps_nothing", async (ctx) => {
    // llama.cpp keeps no responses: the gateway's store carries the conversation (docs/state.md).
    const client = chatClient(ctx);
    const first = await client.responses.create({
      model: ctx.chatModel,
      input: "My name is Ada.",
      max_output_tokens: 16,
      temperature: 0,
    });
    const second = await client.responses.create({
      model: ctx.chatModel,
      input: "What is my name?",
      previous_response_id: first.id,
      max_output_tokens: 16,
      temperature: 0,
    });
    assert.is(second.status, "completed");
    assert.is(second.previous_response_id, first.id);
    assert.ok(second.usage!.input_tokens > first.usage!.input_tokens, "the engine read the earlier turn too");
    assert.is((await client.responses.retrieve(second.id)).id, second.id);
    assert.is((await client.responses.inputItems.list(second.id)).data.length, 3);
  });

  test("models", async (ctx) => {
    const ids: string[] = [];
    for await (const model of chatClient(ctx).models.list()) {
      assertOpenAISchema("Model", model);
      ids.push(model.id);
    }
    assert.equal(ids, [await servedId(CHAT_URL)]);
  });

  test("embeddings_base64_by_default_equal_floats", async (ctx) => {
    const client = setUp.client(ctx.embed.url, KEY);
    const input = ["a cat", "a dog"];
    const fromBase64 = await client.embeddings.create({ model: ctx.embedModel, input });
    const floats = await client.embeddings.create({ model: ctx.embedModel, input, encoding_format: "float" });
    assertOpenAISchema("CreateEmbeddingResponse", floats);
    assert.is(fromBase64.data.length, 2);
    fromBase64.data.forEach((item, i) =>
      assert.equal(Array.from(item.embedding), Array.from(new Float32Array(floats.data[i]!.embedding))),
    );
    assert.ok(fromBase64.data[0]!.embedding.length > 8);
  });

  test("prompt_over_the_context_is_a_bad_request", async (ctx) => {
    const err = await chatClient(ctx)
      .chat.completions.create({ model: ctx.chatModel, messages: [{ role: "user", content: "word ".repeat(6000) }] })
      .catch((e: unknown) => e);
    assert.instance(err, OpenAI.BadRequestError);
  });

  test("a_disconnect_stops_the_generation", async (ctx) => {
    const busy = () => requestsProcessing(CHAT_URL);
    if ((await busy()) === undefined)
      return console.log("  (engine has no requests-processing metric; disconnect check skipped)");
    const controller = new AbortController();
    const stream = await chatClient(ctx).chat.completions.create(
      {
        model: ctx.chatModel,
        messages: [{ role: "user", content: "Write a long essay." }],
        max_tokens: 900,
        stream: true,
      },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) {
        if (++chunks === 2) {
          assert.is(await busy(), 1, "the engine is generating");
          controller.abort();
        }
      }
    } catch {
      // the abort ends the iteration
    }
    let idle = false;
    for (let i = 0; i < 20 && !idle; i++) {
      await new Promise((r) => setTimeout(r, 50));
      idle = (await busy()) === 0;
    }
    assert.ok(idle, "the engine stopped generating within 1 s of the disconnect");
  });

  test.run();
}
