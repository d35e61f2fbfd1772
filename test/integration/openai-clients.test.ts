// The official `openai` package against the gateway, the three ways Azure users write it today:
// AzureOpenAI (deployment in the body, and in the constructor), OpenAI at <gw>/openai/v1, and OpenAI at
// <gw>/v1 (the engine's own API). Each set-up runs the same cases; every body and stream event is
// validated against the pinned OpenAI spec, and the engine simulator's records show what reached it.
import OpenAI, { type APIError } from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { type RunningGateway, startGateway } from "../helpers/gateway.ts";
import { CLIENT_SETUPS } from "../helpers/openai-clients.ts";
import { EngineSim, simVector } from "../sim/engine.ts";

const KEY = "gateway-key";
const REPLY = "The quick brown fox jumps over";

const TOOLS = [
  {
    type: "function" as const,
    function: {
      name: "get_weather",
      description: "Weather of a city",
      parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    },
  },
];

interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
  client: OpenAI;
}

for (const base of CLIENT_SETUPS) {
  const setUp = {
    ...base,
    model: base.model("sim-org/sim-model-1"),
    client: (url: string, key = KEY) => base.client(url, key),
  };
  const test = suite<Ctx>(`openai-clients:${setUp.name}`);
  test.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.logs = [];
    ctx.gw = await startGateway(ctx.sim.url, ["--api-key", KEY], ctx.logs);
    ctx.client = setUp.client(ctx.gw.url);
  });
  test.after(async (ctx) => {
    await ctx.gw.close();
    await ctx.sim.close();
  });
  test.before.each((ctx) => {
    ctx.sim.reset();
    ctx.logs.length = 0;
  });

  const lastLine = (ctx: Ctx) => ctx.logs.filter((l) => l.msg === "request").at(-1)!;

  test("chat", async (ctx) => {
    const { data, response } = await ctx.client.chat.completions
      .create({ model: setUp.model, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    assertOpenAISchema("CreateChatCompletionResponse", data);
    assert.is(data.choices[0]!.message.content, REPLY);
    assert.ok(response.headers.get("x-request-id"));
    assert.is(response.headers.get("apim-request-id"), response.headers.get("x-request-id"));
    const engine = ctx.sim.last("/v1/chat/completions");
    assert.is(engine.body.model, "sim-org/sim-model-1"); // a deployment name of a one-model engine is that model
    assert.is(engine.headers.authorization, undefined); // the client's credentials stay at the gateway
    assert.is(engine.headers["api-key"], undefined);
    assert.is(lastLine(ctx).path, setUp.paths.chat);
  });

  test("chat_stream_with_usage", async (ctx) => {
    const stream = await ctx.client.chat.completions.create({
      model: setUp.model,
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      assertOpenAISchema("CreateChatCompletionStreamResponse", chunk);
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
      chunks++;
    }
    assert.is(text, REPLY);
    assert.ok(chunks > 6);
    assert.is(usage?.completion_tokens, 6);
    assert.is(lastLine(ctx).streamCompleted, true);
    assert.is(lastLine(ctx).completionTokens, 6);
  });

  test("tools_plain_and_streamed", async (ctx) => {
    const plain = await ctx.client.chat.completions.create({
      model: setUp.model,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: TOOLS,
      tool_choice: "required",
    });
    assertOpenAISchema("CreateChatCompletionResponse", plain);
    assert.is(plain.choices[0]!.finish_reason, "tool_calls");
    const call = plain.choices[0]!.message.tool_calls![0]!;
    assert.is(call.type === "function" && call.function.name, "get_weather");
    assert.equal(ctx.sim.last("/v1/chat/completions").body.tools, TOOLS);

    const stream = await ctx.client.chat.completions.create({
      model: setUp.model,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: TOOLS,
      tool_choice: "required",
      stream: true,
    });
    let args = "";
    let name = "";
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      assertOpenAISchema("CreateChatCompletionStreamResponse", chunk);
      for (const fragment of chunk.choices[0]?.delta.tool_calls ?? []) {
        name += fragment.function?.name ?? "";
        args += fragment.function?.arguments ?? "";
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.is(name, "get_weather");
    assert.equal(JSON.parse(args), { city: "Paris" });
    assert.is(finish, "tool_calls");
  });

  test("json_schema_reaches_the_engine", async (ctx) => {
    const response_format = {
      type: "json_schema" as const,
      json_schema: {
        name: "city",
        strict: true,
        schema: {
          type: "object",
          properties: { city: { type: "string" } },
          required: ["city"],
          additionalProperties: false,
        },
      },
    };
    const answer = await ctx.client.chat.completions.create({
      model: setUp.model,
      messages: [{ role: "user", content: "A city?" }],
      response_format,
    });
    assertOpenAISchema("CreateChatCompletionResponse", answer);
    assert.equal(ctx.sim.last("/v1/chat/completions").body.response_format, response_format);
  });

  test("undeclared_fields_pass_to_the_engine", async (ctx) => {
    await ctx.client.chat.completions.create({
      model: setUp.model,
      messages: [{ role: "user", content: "hi" }],
      top_k: 5,
      min_p: 0.1,
    } as never);
    const engine = ctx.sim.last("/v1/chat/completions").body;
    assert.is(engine.top_k, 5);
    assert.is(engine.min_p, 0.1);
  });

  test("embeddings_default_base64_round_trips_exactly", async (ctx) => {
    for (const floatsOnly of [false, true]) {
      ctx.sim.floatsOnly = floatsOnly; // an engine that ignores encoding_format and sends floats
      const result = await ctx.client.embeddings.create({ model: setUp.model, input: ["alpha", "beta"] });
      assert.is(ctx.sim.last("/v1/embeddings").body.encoding_format, "base64");
      assert.is(result.data.length, 2);
      result.data.forEach((item, i) => {
        const want = Array.from(new Float32Array(simVector(["alpha", "beta"][i]!, 8)));
        assert.equal(Array.from(item.embedding), want, `floatsOnly=${floatsOnly}`);
      });
    }
  });

  test("embeddings_float", async (ctx) => {
    const { data: result, response } = await ctx.client.embeddings
      .create({ model: setUp.model, input: "alpha", encoding_format: "float" })
      .withResponse();
    assertOpenAISchema("CreateEmbeddingResponse", result);
    assert.equal(result.data[0]!.embedding, simVector("alpha", 8));
    assert.ok(response.headers.get("x-request-id"));
  });

  test("models_list_and_retrieve", async (ctx) => {
    const ids: string[] = [];
    for await (const model of ctx.client.models.list()) {
      assertOpenAISchema("Model", model);
      ids.push(model.id);
    }
    assert.equal(ids, ["sim-org/sim-model-1"]);
    assert.is(lastLine(ctx).path, setUp.paths.models);
    const one = await ctx.client.models.retrieve(setUp.model);
    assertOpenAISchema("Model", one);
    assert.is(one.id, "sim-org/sim-model-1");
  });

  test("completions_plain_and_streamed", async (ctx) => {
    const plain = await ctx.client.completions.create({ model: setUp.model, prompt: "Once", max_tokens: 3 });
    assertOpenAISchema("CreateCompletionResponse", plain);
    assert.is(plain.choices[0]!.text, "The quick brown");
    assert.is(lastLine(ctx).path, setUp.paths.completions);
    const stream = await ctx.client.completions.create({
      model: setUp.model,
      prompt: "Once",
      max_tokens: 3,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) {
      // The spec has no chunk schema for legacy completions: chunks are CreateCompletionResponse objects
      // whose finish_reason is null until the last one (as OpenAI and every engine send them).
      const finished = {
        ...chunk,
        choices: chunk.choices.map((c) => ({ ...c, finish_reason: c.finish_reason ?? "stop" })),
      };
      assertOpenAISchema("CreateCompletionResponse", finished);
      text += chunk.choices[0]?.text ?? "";
    }
    assert.is(text, "The quick brown");
  });

  test("responses_plain_streamed_and_stored", async (ctx) => {
    const plain = await ctx.client.responses.create({ model: setUp.model, input: "hi" });
    assertOpenAISchema("Response", plain);
    assert.is(plain.output_text, REPLY);
    assert.is(lastLine(ctx).path, setUp.paths.responses);
    assert.is(ctx.sim.last("/v1/responses").body.model, "sim-org/sim-model-1");

    const stream = await ctx.client.responses.create({ model: setUp.model, input: "hi", stream: true });
    let text = "";
    const types: string[] = [];
    for await (const event of stream) {
      assertOpenAISchema("ResponseStreamEvent", event);
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    assert.is(text, REPLY);
    assert.is(types[0], "response.created");
    assert.is(types.at(-1), "response.completed");
    assert.is(lastLine(ctx).streamCompleted, true);

    const stored = await ctx.client.responses.retrieve(plain.id);
    assertOpenAISchema("Response", stored);
    assert.is(stored.id, plain.id);
    const items = await ctx.client.responses.inputItems.list(plain.id);
    assert.is(items.data.length, 1);
    await ctx.client.responses.delete(plain.id);
    const gone = await ctx.client.responses.retrieve(plain.id).catch((e: unknown) => e);
    assert.instance(gone, OpenAI.NotFoundError);
  });

  test("responses_on_an_engine_without_them_are_served_over_chat", async (ctx) => {
    ctx.sim.noResponses = true;
    const response = await ctx.client.responses.create({ model: setUp.model, input: "hi" });
    assert.is(response.output_text, "The quick brown fox jumps over");
    assert.ok(ctx.sim.requests.some((r) => r.path === "/v1/chat/completions"));
    assert.is(lastLine(ctx).status, 200);
  });

  test("error_classes", async (ctx) => {
    const chat = (client = ctx.client, extra: object = {}) =>
      client.chat.completions
        .create({ model: setUp.model, messages: [{ role: "user", content: "hi" }], ...extra })
        .catch((e: unknown) => e);
    const badRequest = await ctx.client.chat.completions
      .create({ model: setUp.model, messages: [] })
      .catch((e: unknown) => e);
    assert.instance(badRequest, OpenAI.BadRequestError);
    assert.is((badRequest as APIError).param, "messages");
    assert.is(ctx.sim.requests.filter((r) => r.method === "POST").length, 0); // rejected before any upstream call

    assert.instance(await chat(setUp.client(ctx.gw.url, "wrong-key")), OpenAI.AuthenticationError);

    ctx.sim.next({
      status: 422,
      json: { object: "error", message: "bad input", type: "BadRequestError", param: null, code: 422 },
    });
    assert.instance(await chat(), OpenAI.UnprocessableEntityError);

    ctx.sim.next({
      status: 429,
      headers: { "retry-after": "7" },
      json: { error: { message: "slow down", type: "rate_limit_error", param: null, code: null } },
    });
    const limited = await chat();
    assert.instance(limited, OpenAI.RateLimitError);
    assert.is((limited as APIError).headers?.get("retry-after"), "7");

    ctx.sim.next({
      status: 500,
      json: { error: { message: "engine fault", type: "server_error", param: null, code: null } },
    });
    const fault = await chat();
    assert.instance(fault, OpenAI.InternalServerError);
    assert.is((fault as APIError).status, 502);

    ctx.sim.models = ["sim-org/a", "sim-org/b"];
    const missing = await chat();
    assert.instance(missing, OpenAI.NotFoundError);
    assert.match((missing as APIError).message, /sim-org\/a, sim-org\/b/);
  });

  test("disconnect_aborts_the_engine", async (ctx) => {
    const controller = new AbortController();
    const stream = (await ctx.client.chat.completions.create(
      {
        model: setUp.model,
        messages: [{ role: "user", content: "hi" }],
        stream: true,
        max_tokens: 200,
        sim_gap_ms: 30,
      } as never,
      { signal: controller.signal },
    )) as unknown as AsyncIterable<unknown>;
    const read = (async () => {
      for await (const _ of stream) controller.abort();
    })().catch(() => undefined);
    assert.ok(await ctx.sim.waitForAbort(3000), "the engine request was not aborted");
    await read;
  });

  test.run();
}
