// Responses streams from an engine that leaves fields out (llama.cpp: no sequence_number, output_index,
// content_index, item_id; no created_at or model on the response), read by the clients that need them:
// the `openai` SDK's responses.stream() and the AI SDK's streamText. Every event the gateway sends must
// be the API's (the pinned ResponseStreamEvent schema), and an engine's mid-stream error keeps its words.
import { createOpenAI } from "@ai-sdk/openai";
import { streamText } from "ai";
import OpenAI from "openai";
import * as assert from "uvu/assert";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { gatewaySuite } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";

const test = gatewaySuite("responses-events");
const REPLY = "The quick brown fox jumps over";

const eventsOf = (text: string) =>
  text
    .split("\n\n")
    .filter(Boolean)
    .map((block) =>
      JSON.parse(
        block
          .split("\n")
          .find((l) => l.startsWith("data: "))!
          .slice(6),
      ),
    );

test("every_event_is_complete_though_the_engine_left_fields_out", async ({ gw, sim }) => {
  sim.sparseEvents = true;
  for (const tools of [
    undefined,
    [
      {
        type: "function",
        name: "get_weather",
        parameters: { type: "object", properties: { city: { type: "string" } } },
      },
    ],
  ]) {
    const raw = await readRaw(`${gw.url}/v1/responses`, {
      model: "d",
      input: "Weather in Paris?",
      stream: true,
      ...(tools ? { tools } : {}),
    });
    const events = eventsOf(raw.text);
    assert.ok(events.length >= 7);
    events.forEach((event, i) => {
      assertOpenAISchema("ResponseStreamEvent", event);
      assert.is(event.sequence_number, i);
    });
    const created = events[0].response;
    assert.is(created.model, "sim-org/sim-model-1"); // the model the engine was asked for
    assert.type(created.created_at, "number");
    const itemId = events.find((e) => e.type === "response.output_item.added").item.id;
    for (const event of events.filter(
      (e) => /delta|\.done$|part/.test(e.type) && e.type !== "response.output_item.done",
    )) {
      assert.is(event.output_index, 0, event.type);
      assert.is(event.item_id, itemId, event.type);
    }
  }
});

test("the_openai_sdk's_stream_helper_and_the_ai_sdk_read_it", async ({ gw, sim }) => {
  sim.sparseEvents = true;
  const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "k", maxRetries: 0 });
  const stream = client.responses.stream({ model: "d", input: "Say hello." });
  let deltas = "";
  stream.on("response.output_text.delta", (event) => (deltas += event.delta));
  const final = await stream.finalResponse();
  assert.is(deltas, REPLY);
  assert.is(final.output_text, REPLY);

  const result = streamText({
    model: createOpenAI({ baseURL: `${gw.url}/v1`, apiKey: "k" })("d"),
    prompt: "Say hello.",
    maxRetries: 0,
  });
  let text = "";
  for await (const delta of result.textStream) text += delta;
  assert.is(text, REPLY);
});

test("an_engine_error_mid_stream_keeps_its_message", async ({ gw, sim }) => {
  const start = `event: response.created\ndata: ${JSON.stringify({ type: "response.created", response: { id: "r", object: "response", status: "in_progress", output: [] } })}\n\n`;
  for (const failure of [
    `data: ${JSON.stringify({ error: { message: "the KV cache is full", type: "server_error", code: 500 } })}\n\n`,
    `event: error\ndata: ${JSON.stringify({ type: "error", code: "server_error", message: "the KV cache is full", param: null })}\n\n`,
  ]) {
    sim.next({ sse: [start, failure] });
    const raw = await readRaw(`${gw.url}/openai/v1/responses`, { model: "d", input: "x", stream: true });
    const events = eventsOf(raw.text);
    const error = events.at(-1);
    assertOpenAISchema("ResponseErrorEvent", error);
    assert.is(error.message, "the KV cache is full");
    assert.ok(raw.broken);
  }
});

test.run();
