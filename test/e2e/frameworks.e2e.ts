// The frameworks (test/integration/frameworks.test.ts) against real engines through the gateway: the
// Vercel AI SDK over Responses and chat, the OpenAI Agents SDK over Responses, LangChain with and without
// the Responses API; structured output and a tool loop where the engine can (llama.cpp: json_schema by
// grammar; tools with a tool-call template, E2E_TOOLS=1). The tiny models write gibberish: assertions
// are on completion, structure and agreement, not on words.
import { createAzure } from "@ai-sdk/azure";
import { createOpenAI } from "@ai-sdk/openai";
import { AzureChatOpenAI } from "@langchain/openai";
import { Agent, OpenAIResponsesModel, run, setTracingDisabled } from "@openai/agents";
import { generateText, jsonSchema, Output, stepCountIs, streamText, tool, type LanguageModel } from "ai";
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { z } from "zod";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";

setTracingDisabled(true);
const CHAT_URL = process.env.E2E_CHAT_URL!;
const TOOLS = process.env.E2E_TOOLS === "1";
const KEY = "e2e-key";

interface Ctx {
  gw: RunningGateway;
  served: string;
}
const test = suite<Ctx>("e2e-frameworks");
test.before(async (ctx) => {
  ctx.gw = await startGateway(CHAT_URL, ["--idle-timeout", "30s", "--api-key", KEY]);
  ctx.served = ((await (await fetch(`${CHAT_URL}/v1/models`)).json()) as { data: Array<{ id: string }> }).data[0]!.id;
});
test.after(async (ctx) => ctx.gw?.close());

const models = (ctx: Ctx): Array<[string, LanguageModel]> => [
  ["azure_responses", createAzure({ baseURL: `${ctx.gw.url}/openai/v1`, apiKey: KEY })("my-deployment")],
  ["azure_chat", createAzure({ baseURL: `${ctx.gw.url}/openai/v1`, apiKey: KEY }).chat("my-deployment")],
  ["openai_responses_v1", createOpenAI({ baseURL: `${ctx.gw.url}/v1`, apiKey: KEY })(ctx.served)],
];

test("ai_sdk_text_and_stream_agree", async (ctx) => {
  for (const [name, model] of models(ctx)) {
    const settings = { model, prompt: "Say hello.", maxOutputTokens: 16, temperature: 0, seed: 3, maxRetries: 0 };
    const plain = await generateText(settings);
    assert.ok(
      plain.usage.outputTokens! > 0 && plain.usage.outputTokens! <= 16,
      `${name}: ${JSON.stringify(plain.usage)}`,
    );
    const streamed = streamText(settings);
    let text = "";
    for await (const delta of streamed.textStream) text += delta;
    assert.is(text, plain.text, name);
  }
});

test("ai_sdk_structured_output_on_chat", async (ctx) => {
  const { output } = await generateText({
    model: models(ctx)[1]![1],
    prompt: "A city and its temperature.",
    output: Output.object({ schema: z.object({ city: z.enum(["Paris", "Rome"]), sunny: z.boolean() }) }),
    maxOutputTokens: 200,
    temperature: 0,
    maxRetries: 0,
  });
  assert.ok(["Paris", "Rome"].includes(output.city));
  assert.type(output.sunny, "boolean");
});

if (TOOLS) {
  test("ai_sdk_tool_loop_on_chat", async (ctx) => {
    const calls: unknown[] = [];
    const weather = tool({
      description: "weather of a city",
      // the schema of the engine tier's other tool tests: with a closed set of values the grammar lets a
      // random-weight model finish its call
      inputSchema: jsonSchema<{ city: string }>({
        type: "object",
        properties: { city: { type: "string", enum: ["Paris"] } },
        required: ["city"],
      }),
      execute: async (input) => (calls.push(input), { forecast: "sunny" }),
    });
    const result = await generateText({
      model: models(ctx)[1]![1],
      prompt: "Weather in Paris?",
      tools: { get_weather: weather },
      toolChoice: "required",
      stopWhen: stepCountIs(2),
      maxOutputTokens: 400,
      temperature: 0,
      maxRetries: 0,
    });
    assert.ok(calls.length >= 1, JSON.stringify(result.steps.map((s) => s.content)));
    assert.equal(calls[0], { city: "Paris" });
    assert.is(result.steps.length, 2);
  });
}

test("agents_sdk_over_responses", async (ctx) => {
  const client = new OpenAI({ baseURL: `${ctx.gw.url}/openai/v1`, apiKey: KEY, maxRetries: 0 });
  const agent = new Agent({
    name: "assistant",
    instructions: "Be brief.",
    model: new OpenAIResponsesModel(client, "my-deployment"),
    modelSettings: { maxTokens: 16, temperature: 0 },
  });
  const result = await run(agent, "Say hello.");
  assert.type(result.finalOutput, "string");
  const streamed = await run(agent, "Say hello.", { stream: true });
  let text = "";
  for await (const chunk of streamed.toTextStream()) text += chunk;
  await streamed.completed;
  assert.is(text, result.finalOutput);
});

test("langchain_azure_chat_and_responses", async (ctx) => {
  for (const useResponsesApi of [false, true]) {
    const model = new AzureChatOpenAI({
      azureOpenAIApiKey: KEY,
      azureOpenAIEndpoint: ctx.gw.url,
      azureOpenAIApiDeploymentName: "my-deployment",
      azureOpenAIApiVersion: "2025-04-01-preview",
      useResponsesApi,
      maxTokens: 16,
      temperature: 0,
      maxRetries: 0,
    });
    const answer = await model.invoke("Say hello.");
    assert.ok(answer.usage_metadata!.output_tokens > 0, `responses=${useResponsesApi}`);
    let chunks = 0;
    for await (const _ of await model.stream("Say hello.")) chunks++;
    assert.ok(chunks > 1, `responses=${useResponsesApi}`);
  }
});

test.run();
