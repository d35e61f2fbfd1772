// The gateway in front of real engines (llama-server by default; any OpenAI-compatible engine through
// E2E_CHAT_UPSTREAM / E2E_EMBED_UPSTREAM), driven by @azure-rest/ai-inference and @azure/core-sse.
// The tiny test models produce gibberish: assertions are on structure, counts and determinism.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { isUnexpected } from "@azure-rest/ai-inference";
import { createSseStream } from "@azure/core-sse";
import { assertAzureSchema } from "../helpers/contract.ts";
import { requestsProcessing } from "./engine-busy.ts";
import { azureClient, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { fromBase64, toBinary, toInt8, toUbinary, toUint8 } from "../../src/core/embedding-encoding.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;
const EMBED_URL = process.env.E2E_EMBED_URL!;
const TOOLS = process.env.E2E_TOOLS === "1";
/** The chat engine serves a requests-processing metric (scripts/e2e.ts starts llama-server with --metrics): the
 * disconnect check needs it, and fails without it; an engine from outside without one skips it, saying why. */
const METRICS = process.env.E2E_ENGINE_METRICS === "1" || (await requestsProcessing(CHAT_URL)) !== undefined;
if (!METRICS)
  console.log("  (e2e: the chat engine has no requests-processing metric: the disconnect check is skipped)");

const test = suite<{ chat: RunningGateway; embed: RunningGateway }>("e2e");
test.before(async (ctx) => {
  ctx.chat = await startGateway(CHAT_URL, ["--idle-timeout", "30s"]);
  ctx.embed = await startGateway(EMBED_URL, ["--upstream-type", "embeddings"]);
});
test.after(async (ctx) => {
  await ctx.chat?.close();
  await ctx.embed?.close();
});

const user = (content: string) => [{ role: "user" as const, content }];
const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "weather of a city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris"] } }, required: ["city"] },
  },
};

async function streamUpdates(gw: RunningGateway, body: Record<string, unknown>): Promise<any[]> {
  const res = await azureClient(gw.url)
    .path("/chat/completions")
    .post({ body: { ...body, stream: true } as never })
    .asNodeStream();
  assert.is(res.status, "200");
  const updates: any[] = [];
  let done = false;
  for await (const event of createSseStream(res.body!)) {
    if (event.data === "[DONE]") {
      done = true;
      break;
    }
    const update = JSON.parse(event.data);
    assertAzureSchema("StreamingChatCompletionsUpdate", update);
    updates.push(update);
  }
  assert.ok(done, "the stream ends with [DONE]");
  return updates;
}

test("chat_is_schema_valid_and_counts_tokens", async ({ chat }) => {
  const res = await azureClient(chat.url)
    .path("/chat/completions")
    .post({ body: { messages: user("Say hello."), max_tokens: 8, temperature: 0 } });
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assertAzureSchema("ChatCompletions", res.body);
  assert.ok(res.body.usage.prompt_tokens > 0);
  assert.ok(res.body.usage.completion_tokens <= 8);
  assert.is(res.body.usage.total_tokens, res.body.usage.prompt_tokens + res.body.usage.completion_tokens);
  if (res.body.choices[0]!.finish_reason === "length") assert.is(res.body.usage.completion_tokens, 8);
});

test("temperature_zero_is_deterministic", async ({ chat }) => {
  const ask = () =>
    azureClient(chat.url)
      .path("/chat/completions")
      .post({ body: { messages: user("Count to three."), max_tokens: 12, temperature: 0, seed: 7 } });
  const [a, b] = await Promise.all([ask(), ask()]);
  if (isUnexpected(a) || isUnexpected(b)) throw new Error("unexpected");
  assert.is(a.body.choices[0]!.message.content, b.body.choices[0]!.message.content);
});

test("streaming_reassembles_and_matches_the_non_streamed_answer", async ({ chat }) => {
  const body = { messages: user("Tell a story."), max_tokens: 16, temperature: 0, seed: 7 };
  const updates = await streamUpdates(chat, body);
  const text = updates.map((u) => u.choices[0]?.delta?.content ?? "").join("");
  const last = updates.at(-1);
  assert.ok(last.usage, "usage rides on the last update");
  assert.ok(updates.every((u) => u.choices.length > 0));
  assert.is(
    last.usage.completion_tokens,
    updates.filter((u) => u.choices[0].delta.content).length,
    "one update per token",
  );
  const plain = await azureClient(chat.url).path("/chat/completions").post({ body });
  if (isUnexpected(plain)) throw new Error(JSON.stringify(plain.body));
  assert.is(text, plain.body.choices[0]!.message.content);
});

test("json_schema_response_format", async ({ chat }) => {
  const res = await azureClient(chat.url)
    .path("/chat/completions")
    .post({
      body: {
        messages: user("Answer yes or no."),
        max_tokens: 80,
        temperature: 0,
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "answer",
            schema: {
              type: "object",
              properties: { answer: { enum: ["yes", "no"] } },
              required: ["answer"],
              additionalProperties: false,
            },
          },
        },
      },
    });
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assertAzureSchema("ChatCompletions", res.body);
  assert.is(res.body.choices[0]!.finish_reason, "stop");
  assert.ok(["yes", "no"].includes(JSON.parse(res.body.choices[0]!.message.content!).answer));
});

if (TOOLS) {
  test("tool_calls", async ({ chat }) => {
    const res = await azureClient(chat.url)
      .path("/chat/completions")
      .post({
        body: {
          messages: user("Weather in Paris?"),
          tools: [WEATHER_TOOL],
          tool_choice: "required",
          max_tokens: 400,
          temperature: 0,
        },
      });
    if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
    assertAzureSchema("ChatCompletions", res.body);
    assert.is(res.body.choices[0]!.finish_reason, "tool_calls");
    const call = res.body.choices[0]!.message.tool_calls![0]!;
    assert.is(call.function.name, "get_weather");
    assert.equal(JSON.parse(call.function.arguments), { city: "Paris" });
    assert.ok(call.id);
  });

  test("tool_calls_streamed", async ({ chat }) => {
    const updates = await streamUpdates(chat, {
      messages: user("Weather in Paris?"),
      tools: [WEATHER_TOOL],
      tool_choice: "required",
      max_tokens: 400,
      temperature: 0,
    });
    const fragments = updates.flatMap((u) => u.choices[0].delta.tool_calls ?? []);
    assert.ok(fragments.length > 0);
    assert.ok(
      fragments.every((f: any) => f.id === fragments[0].id && f.function.name === "get_weather" && f.index === 0),
      "id and name on every fragment",
    );
    assert.equal(JSON.parse(fragments.map((f: any) => f.function.arguments).join("")), { city: "Paris" });
    assert.is(updates.at(-1).choices[0].finish_reason, "tool_calls");
  });
}

test("prompt_over_the_context_is_a_400", async ({ chat }) => {
  const res = await azureClient(chat.url)
    .path("/chat/completions")
    .post({ body: { messages: user("word ".repeat(6000)) } });
  assert.ok(isUnexpected(res));
  assert.is(res.status, "400");
  assertAzureSchema("Azure.Core.Foundations.ErrorResponse", res.body);
  assert.is(res.headers["x-ms-error-code"], (res.body as any).error.code);
});

(METRICS ? test : test.skip)("client_disconnect_stops_the_generation", async ({ chat }) => {
  const busy = () => requestsProcessing(CHAT_URL);
  assert.ok(
    (await busy()) !== undefined,
    "the engine serves llamacpp:requests_processing or vllm:num_requests_running",
  );
  const controller = new AbortController();
  const res = await fetch(`${chat.url}/chat/completions?api-version=2025-04-01`, {
    method: "POST",
    signal: controller.signal,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: user("Write a long essay."), max_tokens: 900, stream: true }),
  });
  const reader = res.body!.getReader();
  await reader.read();
  await reader.read();
  assert.is(await busy(), 1, "the engine is generating");
  controller.abort();
  let idle = false;
  for (let i = 0; i < 20 && !idle; i++) {
    await new Promise((r) => setTimeout(r, 50));
    idle = (await busy()) === 0;
  }
  assert.ok(idle, "the engine stopped generating within 1 s of the disconnect");
});

test("embeddings_in_every_encoding", async ({ embed }) => {
  const client = azureClient(embed.url);
  const input = ["the quick brown fox", "jumps over"];
  const floats = await client.path("/embeddings").post({ body: { input } });
  if (isUnexpected(floats)) throw new Error(JSON.stringify(floats.body));
  assertAzureSchema("EmbeddingsResult", floats.body);
  assert.is(floats.body.data.length, 2);
  const vectors = floats.body.data.map((d) => d.embedding as number[]);
  assert.ok(vectors[0]!.length > 0 && vectors[0]!.every((v) => typeof v === "number"));
  assert.ok(floats.body.usage.prompt_tokens > 0);
  const b64 = await client.path("/embeddings").post({ body: { input, encoding_format: "base64" } });
  if (isUnexpected(b64)) throw new Error(JSON.stringify(b64.body));
  assertAzureSchema("EmbeddingsResult", b64.body);
  const decoded = fromBase64(b64.body.data[0]!.embedding as unknown as string);
  assert.ok(
    decoded.every((v, i) => Math.abs(v - vectors[0]![i]!) < 1e-5),
    "base64 from the engine decodes to the same floats",
  );
  for (const [format, encode] of [
    ["int8", toInt8],
    ["uint8", toUint8],
    ["binary", toBinary],
    ["ubinary", toUbinary],
  ] as const) {
    const res = await client.path("/embeddings").post({ body: { input, encoding_format: format } });
    if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
    assertAzureSchema("EmbeddingsResult", res.body);
    assert.equal(res.body.data[1]!.embedding, encode(vectors[1]!), format);
  }
});

test("info_from_each_engine", async ({ chat, embed }) => {
  for (const [gw, type] of [
    [chat, "chat-completion"],
    [embed, "embeddings"],
  ] as const) {
    const res = await azureClient(gw.url).path("/info").get();
    if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
    assertAzureSchema("ModelInfo", res.body);
    assert.is(res.body.model_type, type);
    assert.ok(res.body.model_name);
  }
});

test.run();
