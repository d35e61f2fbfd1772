// The frameworks applications are built with, unchanged, through each dialect they can be pointed at:
// the Vercel AI SDK (`ai` with @ai-sdk/azure and @ai-sdk/openai; Responses and chat), the OpenAI Agents
// SDK (a tool loop and a second turn), LangChain (AzureChatOpenAI with and without the Responses API,
// ChatOpenAI at /v1). Each set-up runs text, stream, a tool loop, structured output, multi-turn,
// embeddings where the framework has them, an engine 400 and a 429. With RECORD_REQUESTS=1 the bodies the
// engine received are written to test/fixtures/requests/, the corpus the validators must keep accepting.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createAzure } from "@ai-sdk/azure";
import { createOpenAI } from "@ai-sdk/openai";
import { AzureChatOpenAI, AzureOpenAIEmbeddings, ChatOpenAI, OpenAIEmbeddings } from "@langchain/openai";
import {
  Agent,
  OpenAIChatCompletionsModel,
  OpenAIResponsesModel,
  run,
  setTracingDisabled,
  tool as agentTool,
} from "@openai/agents";
import {
  APICallError,
  embed,
  generateText,
  type LanguageModel,
  type EmbeddingModel,
  Output,
  stepCountIs,
  streamText,
  tool,
} from "ai";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { type RunningGateway, startGateway } from "../helpers/gateway.ts";
import { EngineSim, simVector } from "../sim/engine.ts";

setTracingDisabled(true); // the Agents SDK would export traces to api.openai.com

const KEY = "gateway-key";
const REPLY = "The quick brown fox jumps over";
const DEPLOYMENT = "my-deployment";
const SERVED = "sim-org/sim-model-1";
const API_VERSION = "2025-04-01-preview";
const WEATHER = { city: "Paris", forecast: "sunny" };
const Forecast = z.object({ city: z.string(), celsius: z.number() });

interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
}

const TOOL_BODY_PATHS: Record<string, string> = {
  "/v1/responses": "CreateResponse",
  "/v1/chat/completions": "CreateChatCompletionRequest",
  "/v1/embeddings": "CreateEmbeddingRequest",
};

/** RECORD_REQUESTS=1: the bodies the engine got in this case, one file each. */
function record(sim: EngineSim, name: string): void {
  if (!process.env.RECORD_REQUESTS) return;
  const dir = join(import.meta.dirname, "../fixtures/requests");
  mkdirSync(dir, { recursive: true });
  sim.requests
    .filter((r) => r.method === "POST" && TOOL_BODY_PATHS[r.path])
    .forEach((r, i) => {
      writeFileSync(
        join(dir, `${name}-${i + 1}.json`),
        `${JSON.stringify({ recordedFrom: name, path: r.path, schema: TOOL_BODY_PATHS[r.path], body: r.body }, null, 2)}\n`,
      );
    });
}

/** `overChat`: the engine has no Responses API (TGI), so the gateway serves it over chat completions. */
function frameworkSuite(name: string, cases: (test: ReturnType<typeof suite<Ctx>>) => void, overChat = false): void {
  const test = suite<Ctx>(`frameworks:${name}`);
  test.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.gw = await startGateway(ctx.sim.url, ["--api-key", KEY]);
  });
  test.after(async (ctx) => {
    await ctx.gw.close();
    await ctx.sim.close();
  });
  test.before.each((ctx) => {
    ctx.sim.reset();
    ctx.sim.noResponses = overChat;
  });
  cases(test);
  test.run();
}

const posts = (sim: EngineSim, path: string) => sim.requests.filter((r) => r.method === "POST" && r.path === path);
const engineFault = (sim: EngineSim, status: number, headers: Record<string, string> = {}) =>
  sim.next({
    status,
    headers,
    json: {
      error: {
        message: status === 429 ? "slow down" : "the engine refused it",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    },
  });

// ---- Vercel AI SDK ------------------------------------------------------------------------------------

interface AiSdkSetUp {
  name: string;
  model(gw: string): LanguageModel;
  embedding?(gw: string): EmbeddingModel;
  enginePath: "/v1/responses" | "/v1/chat/completions";
  gatewayPath: string;
  overChat?: boolean;
}

const AI_SDK_SETUPS: AiSdkSetUp[] = [
  {
    name: "azure_responses_v1",
    model: (gw) => createAzure({ baseURL: `${gw}/openai/v1`, apiKey: KEY })(DEPLOYMENT),
    embedding: (gw) => createAzure({ baseURL: `${gw}/openai/v1`, apiKey: KEY }).embedding(DEPLOYMENT),
    enginePath: "/v1/responses",
    gatewayPath: "/openai/v1/responses",
  },
  {
    name: "azure_responses_deployment_urls",
    model: (gw) =>
      createAzure({ baseURL: `${gw}/openai`, apiKey: KEY, useDeploymentBasedUrls: true, apiVersion: API_VERSION })(
        DEPLOYMENT,
      ),
    embedding: (gw) =>
      createAzure({
        baseURL: `${gw}/openai`,
        apiKey: KEY,
        useDeploymentBasedUrls: true,
        apiVersion: API_VERSION,
      }).embedding(DEPLOYMENT),
    enginePath: "/v1/responses",
    gatewayPath: `/openai/deployments/${DEPLOYMENT}/responses`,
  },
  {
    name: "azure_responses_v1_over_chat",
    model: (gw) => createAzure({ baseURL: `${gw}/openai/v1`, apiKey: KEY })(DEPLOYMENT),
    enginePath: "/v1/chat/completions",
    gatewayPath: "/openai/v1/responses",
    overChat: true,
  },
  {
    name: "azure_chat",
    model: (gw) => createAzure({ baseURL: `${gw}/openai/v1`, apiKey: KEY }).chat(DEPLOYMENT),
    enginePath: "/v1/chat/completions",
    gatewayPath: "/openai/v1/chat/completions",
  },
  {
    name: "openai_responses_engine_v1",
    model: (gw) => createOpenAI({ baseURL: `${gw}/v1`, apiKey: KEY })(SERVED),
    embedding: (gw) => createOpenAI({ baseURL: `${gw}/v1`, apiKey: KEY }).embedding(SERVED),
    enginePath: "/v1/responses",
    gatewayPath: "/v1/responses",
  },
  {
    name: "openai_chat_engine_v1",
    model: (gw) => createOpenAI({ baseURL: `${gw}/v1`, apiKey: KEY }).chat(SERVED),
    enginePath: "/v1/chat/completions",
    gatewayPath: "/v1/chat/completions",
  },
];

for (const setUp of AI_SDK_SETUPS) {
  frameworkSuite(
    `ai-sdk:${setUp.name}`,
    (test) => {
      const model = (ctx: Ctx) => setUp.model(ctx.gw.url);
      const recorded = (ctx: Ctx, what: string) => record(ctx.sim, `ai-sdk-${setUp.name}-${what}`);

      test("text", async (ctx) => {
        const { text } = await generateText({ model: model(ctx), prompt: "Say hello.", maxRetries: 0 });
        assert.is(text, REPLY);
        assert.is(posts(ctx.sim, setUp.enginePath).length, 1);
        recorded(ctx, "text");
      });

      test("stream", async (ctx) => {
        const result = streamText({ model: model(ctx), prompt: "Say hello.", maxRetries: 0 });
        let text = "";
        for await (const delta of result.textStream) text += delta;
        assert.is(text, REPLY);
        assert.is((await result.usage).outputTokens, 6);
        recorded(ctx, "stream");
      });

      test("tool_loop", async (ctx) => {
        const calls: unknown[] = [];
        const weather = tool({
          description: "Weather of a city",
          inputSchema: z.object({ city: z.string() }),
          execute: async (input) => (calls.push(input), WEATHER),
        });
        const { text, steps } = await generateText({
          model: model(ctx),
          prompt: "Weather in Paris?",
          tools: { weather },
          stopWhen: stepCountIs(3),
          maxRetries: 0,
        });
        assert.equal(calls, [{ city: "Paris" }]);
        assert.is(steps.length, 2);
        assert.is(text, REPLY);
        const second = JSON.stringify(posts(ctx.sim, setUp.enginePath)[1]!.body);
        assert.ok(second.includes("sunny"), "the tool's result reached the engine");
        recorded(ctx, "tool-loop");
      });

      test("structured_output", async (ctx) => {
        const { output } = await generateText({
          model: model(ctx),
          prompt: "Forecast for Paris as JSON.",
          output: Output.object({ schema: Forecast }),
          maxRetries: 0,
        });
        assert.equal(output, { city: "Paris", celsius: 21 });
        recorded(ctx, "structured");
      });

      test("multi_turn", async (ctx) => {
        // On Responses the AI SDK sends earlier answers as references to stored items unless `store` is
        // false; resolving them needs the gateway's own store (issue 24), so this turn keeps nothing.
        const providerOptions = { openai: { store: false }, azure: { store: false } };
        const first = await generateText({ model: model(ctx), prompt: "Say hello.", providerOptions, maxRetries: 0 });
        const second = await generateText({
          model: model(ctx),
          messages: [
            { role: "user", content: "Say hello." },
            ...first.response.messages,
            { role: "user", content: "Again." },
          ],
          providerOptions,
          maxRetries: 0,
        });
        assert.is(second.text, REPLY);
        const body = JSON.stringify(posts(ctx.sim, setUp.enginePath)[1]!.body);
        assert.ok(body.includes(REPLY) && body.includes("Again."), "the earlier answer went back to the engine");
        recorded(ctx, "multi-turn");
      });

      if (setUp.enginePath === "/v1/responses") {
        test("multi_turn_with_stored_items_is_resolved_by_the_gateway", async (ctx) => {
          const first = await generateText({ model: model(ctx), prompt: "Say hello.", maxRetries: 0 });
          await generateText({
            model: model(ctx),
            messages: [
              { role: "user", content: "Say hello." },
              ...first.response.messages,
              { role: "user", content: "Again." },
            ],
            maxRetries: 0,
          });
          // The AI SDK sends the first answer as a reference to its stored item; the engine keeps nothing, so
          // the gateway's store puts the item itself in its place.
          const input = posts(ctx.sim, setUp.enginePath)[1]!.body.input as Array<Record<string, unknown>>;
          assert.is(input[1]!.type, "message");
          assert.is(input[1]!.id, "msg_sim");
          assert.match(JSON.stringify(input[1]), new RegExp(REPLY));
          assert.not.ok(JSON.stringify(input).includes("item_reference"));
          recorded(ctx, "multi-turn-stored");
        });
      }

      if (setUp.embedding) {
        test("embeddings", async (ctx) => {
          const { embedding } = await embed({ model: setUp.embedding!(ctx.gw.url), value: "hello", maxRetries: 0 });
          assert.is(embedding.length, 8);
          simVector("hello", 8).forEach((x, i) => assert.ok(Math.abs(x - embedding[i]!) < 1e-6));
          recorded(ctx, "embeddings");
        });
      }

      test("bad_request_and_rate_limit", async (ctx) => {
        engineFault(ctx.sim, 400);
        const bad = await generateText({ model: model(ctx), prompt: "x", maxRetries: 0 }).catch((e: unknown) => e);
        assert.ok(APICallError.isInstance(bad), String(bad));
        assert.is((bad as APICallError).statusCode, 400);
        assert.match((bad as APICallError).message, /the engine refused it/);
        engineFault(ctx.sim, 429, { "retry-after": "3" });
        const limited = await generateText({ model: model(ctx), prompt: "x", maxRetries: 0 }).catch((e: unknown) => e);
        assert.ok(APICallError.isInstance(limited), String(limited));
        assert.is((limited as APICallError).statusCode, 429);
        assert.is((limited as APICallError).responseHeaders?.["retry-after"], "3");
      });
    },
    setUp.overChat,
  );
}

// ---- OpenAI Agents SDK --------------------------------------------------------------------------------

const AGENT_SETUPS = [
  {
    name: "responses_openai_v1",
    client: (gw: string) => new OpenAI({ baseURL: `${gw}/openai/v1`, apiKey: KEY, maxRetries: 0 }),
    model: DEPLOYMENT,
    api: "responses" as const,
  },
  {
    name: "responses_openai_v1_over_chat",
    client: (gw: string) => new OpenAI({ baseURL: `${gw}/openai/v1`, apiKey: KEY, maxRetries: 0 }),
    model: DEPLOYMENT,
    api: "responses" as const,
    overChat: true,
  },
  {
    name: "chat_openai_v1",
    client: (gw: string) => new OpenAI({ baseURL: `${gw}/openai/v1`, apiKey: KEY, maxRetries: 0 }),
    model: DEPLOYMENT,
    api: "chat" as const,
  },
  {
    name: "responses_engine_v1",
    client: (gw: string) => new OpenAI({ baseURL: `${gw}/v1`, apiKey: KEY, maxRetries: 0 }),
    model: SERVED,
    api: "responses" as const,
  },
];

for (const setUp of AGENT_SETUPS) {
  frameworkSuite(
    `agents:${setUp.name}`,
    (test) => {
      const enginePath = setUp.api === "responses" && !setUp.overChat ? "/v1/responses" : "/v1/chat/completions";
      const agent = (ctx: Ctx, extra: Partial<ConstructorParameters<typeof Agent>[0]> = {}) => {
        const client = setUp.client(ctx.gw.url);
        const model =
          setUp.api === "responses"
            ? new OpenAIResponsesModel(client, setUp.model)
            : new OpenAIChatCompletionsModel(client, setUp.model);
        return new Agent({ name: "assistant", instructions: "Be brief.", model, ...extra });
      };

      test("text_and_stream", async (ctx) => {
        assert.is((await run(agent(ctx), "Say hello.")).finalOutput, REPLY);
        const streamed = await run(agent(ctx), "Say hello.", { stream: true });
        let text = "";
        for await (const chunk of streamed.toTextStream()) text += chunk;
        await streamed.completed;
        assert.is(text, REPLY);
        record(ctx.sim, `agents-${setUp.name}-text`);
      });

      test("tool_loop_then_a_second_turn", async (ctx) => {
        const calls: unknown[] = [];
        const weather = agentTool({
          name: "get_weather",
          description: "Weather of a city",
          parameters: z.object({ city: z.string() }),
          execute: async (input) => (calls.push(input), JSON.stringify(WEATHER)),
        });
        const first = await run(agent(ctx, { tools: [weather] }), "Weather in Paris?");
        assert.equal(calls, [{ city: "Paris" }]);
        assert.is(first.finalOutput, REPLY);
        const second = await run(agent(ctx, { tools: [weather] }), [
          ...first.history,
          { role: "user", content: "And tomorrow?" },
        ]);
        assert.is(second.finalOutput, REPLY);
        const last = JSON.stringify(posts(ctx.sim, enginePath).at(-1)!.body);
        assert.ok(
          last.includes("sunny") && last.includes("And tomorrow?"),
          "the whole history went back to the engine",
        );
        record(ctx.sim, `agents-${setUp.name}-tool-loop`);
      });

      test("structured_output", async (ctx) => {
        const result = await run(agent(ctx, { outputType: Forecast }), "Forecast for Paris.");
        assert.equal(result.finalOutput, { city: "Paris", celsius: 21 });
        record(ctx.sim, `agents-${setUp.name}-structured`);
      });

      test("bad_request_and_rate_limit", async (ctx) => {
        engineFault(ctx.sim, 400);
        assert.instance(await run(agent(ctx), "x").catch((e: unknown) => e), OpenAI.BadRequestError);
        engineFault(ctx.sim, 429, { "retry-after": "3" });
        assert.instance(await run(agent(ctx), "x").catch((e: unknown) => e), OpenAI.RateLimitError);
      });
    },
    setUp.overChat,
  );
}

// ---- LangChain ----------------------------------------------------------------------------------------

/** AzureChatOpenAI as its docs show it, against the gateway as the Azure endpoint. */
const azureChat = (gw: string, useResponsesApi = false) =>
  new AzureChatOpenAI({
    azureOpenAIApiKey: KEY,
    azureOpenAIEndpoint: gw,
    azureOpenAIApiDeploymentName: DEPLOYMENT,
    azureOpenAIApiVersion: API_VERSION,
    useResponsesApi,
    maxRetries: 0,
  });

const LANGCHAIN_SETUPS = [
  {
    name: "azure_chat",
    responses: false,
    chat: (gw: string) => azureChat(gw),
  },
  {
    name: "azure_responses",
    responses: true,
    chat: (gw: string) => azureChat(gw, true),
  },
  {
    name: "azure_responses_over_chat",
    responses: true,
    chat: (gw: string) => azureChat(gw, true),
    overChat: true,
  },
  {
    name: "openai_engine_v1",
    responses: false,
    chat: (gw: string) =>
      new ChatOpenAI({ model: SERVED, apiKey: KEY, configuration: { baseURL: `${gw}/v1` }, maxRetries: 0 }),
  },
  {
    name: "openai_engine_v1_responses",
    responses: true,
    chat: (gw: string) =>
      new ChatOpenAI({
        model: SERVED,
        apiKey: KEY,
        configuration: { baseURL: `${gw}/v1` },
        useResponsesApi: true,
        maxRetries: 0,
      }),
  },
];

for (const setUp of LANGCHAIN_SETUPS) {
  frameworkSuite(
    `langchain:${setUp.name}`,
    (test) => {
      const enginePath = setUp.responses && !setUp.overChat ? "/v1/responses" : "/v1/chat/completions";
      const textOf = (content: unknown) =>
        typeof content === "string" ? content : (content as Array<{ text?: string }>).map((p) => p.text ?? "").join("");

      test("text_stream_and_multi_turn", async (ctx) => {
        const model = setUp.chat(ctx.gw.url);
        const answer = await model.invoke("Say hello.");
        assert.is(textOf(answer.content), REPLY);
        let streamed = "";
        for await (const chunk of await model.stream("Say hello.")) streamed += textOf(chunk.content);
        assert.is(streamed, REPLY);
        const again = await model.invoke([["human", "Say hello."], answer, ["human", "Again."]]);
        assert.is(textOf(again.content), REPLY);
        const body = JSON.stringify(posts(ctx.sim, enginePath).at(-1)!.body);
        assert.ok(body.includes(REPLY) && body.includes("Again."));
        record(ctx.sim, `langchain-${setUp.name}-text`);
      });

      test("tool_loop", async (ctx) => {
        const model = setUp.chat(ctx.gw.url).bindTools([
          {
            type: "function",
            function: {
              name: "get_weather",
              description: "Weather of a city",
              parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            },
          },
        ]);
        const asked = await model.invoke("Weather in Paris?");
        const call = asked.tool_calls?.[0];
        assert.is(call?.name, "get_weather");
        assert.equal(call?.args, { city: "Paris" });
        const answered = await model.invoke([
          ["human", "Weather in Paris?"],
          asked,
          { role: "tool", content: JSON.stringify(WEATHER), tool_call_id: call!.id! },
        ]);
        assert.is(textOf(answered.content), REPLY);
        assert.ok(JSON.stringify(posts(ctx.sim, enginePath).at(-1)!.body).includes("sunny"));
        record(ctx.sim, `langchain-${setUp.name}-tool-loop`);
      });

      test("structured_output", async (ctx) => {
        const forecast = await setUp.chat(ctx.gw.url).withStructuredOutput(Forecast).invoke("Forecast for Paris.");
        assert.equal(forecast, { city: "Paris", celsius: 21 });
        record(ctx.sim, `langchain-${setUp.name}-structured`);
      });

      test("bad_request_and_rate_limit", async (ctx) => {
        engineFault(ctx.sim, 400);
        const bad = (await setUp
          .chat(ctx.gw.url)
          .invoke("x")
          .catch((e: unknown) => e)) as { status?: number; message: string };
        assert.is(bad.status, 400);
        engineFault(ctx.sim, 429, { "retry-after": "3" });
        const limited = (await setUp
          .chat(ctx.gw.url)
          .invoke("x")
          .catch((e: unknown) => e)) as { status?: number };
        assert.is(limited.status, 429);
      });
    },
    setUp.overChat,
  );
}

frameworkSuite("langchain:embeddings", (test) => {
  test("azure_and_engine_v1", async (ctx) => {
    const azure = new AzureOpenAIEmbeddings({
      azureOpenAIApiKey: KEY,
      azureOpenAIBasePath: `${ctx.gw.url}/openai/deployments`,
      azureOpenAIApiEmbeddingsDeploymentName: DEPLOYMENT,
      azureOpenAIApiVersion: API_VERSION,
      maxRetries: 0,
    });
    const engine = new OpenAIEmbeddings({
      model: SERVED,
      apiKey: KEY,
      configuration: { baseURL: `${ctx.gw.url}/v1` },
      maxRetries: 0,
    });
    for (const embeddings of [azure, engine]) {
      const vector = await embeddings.embedQuery("hello");
      assert.is(vector.length, 8);
      simVector("hello", 8).forEach((x, i) => assert.ok(Math.abs(x - vector[i]!) < 1e-6));
    }
    record(ctx.sim, "langchain-embeddings");
  });
});
