// The Open Responses compliance suite's six scenarios (basic, streaming, system prompt, tool calling, image
// input, multi-turn), their requests as the suite sends them, for the integration tier (the simulator) and
// the e2e tier (llama-server). Each is checked as the suite checks it: the Response against ResponseResource
// (every required field; the pinned OpenAI schema), and a stream's events numbered in order.
import * as assert from "uvu/assert";
import { REQUIRED_RESPONSE_FIELDS } from "../../src/dialects/openai/response-object.ts";
import { assertOpenAISchema } from "./contract.ts";
import { readRaw } from "./sse.ts";

export interface Scenario {
  name: string;
  body: Record<string, unknown>;
  /** What the scenario checks beyond a complete Response (given a model that does what it is asked). */
  expect?: (response: any) => void;
}

export const SCENARIOS: Scenario[] = [
  {
    name: "basic-response",
    body: { input: [{ type: "message", role: "user", content: "Say hello in exactly 3 words." }] },
  },
  {
    name: "streaming-response",
    body: { input: [{ type: "message", role: "user", content: "Count to 3." }], stream: true },
  },
  {
    name: "system-prompt",
    body: {
      input: [
        { type: "message", role: "system", content: "You are a pirate. Always respond in pirate speak." },
        { type: "message", role: "user", content: "Say hello." },
      ],
    },
  },
  {
    name: "tool-calling",
    body: {
      input: [{ type: "message", role: "user", content: "What's the weather like in San Francisco?" }],
      tools: [
        {
          type: "function",
          name: "get_weather",
          description: "Get the current weather for a location",
          parameters: { type: "object", properties: { location: { type: "string" } }, required: ["location"] },
        },
      ],
    },
    expect(r) {
      const call = r.output.find((item: any) => item.type === "function_call");
      assert.ok(call, "a function_call item");
      assert.equal(
        Object.keys(call)
          .filter((k) => ["call_id", "name", "arguments"].includes(k))
          .sort(),
        ["arguments", "call_id", "name"],
      );
      assert.is(r.tools[0].strict, null, "the tool as listed says whether it is strict");
    },
  },
  {
    name: "image-input",
    body: {
      input: [
        {
          type: "message",
          role: "user",
          content: [
            { type: "input_text", text: "What do you see in this image? Answer in one sentence." },
            {
              type: "input_image",
              image_url:
                "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
            },
          ],
        },
      ],
    },
  },
  {
    name: "multi-turn",
    body: {
      input: [
        { type: "message", role: "user", content: "My name is Alice." },
        { type: "message", role: "assistant", content: "Hello Alice! Nice to meet you." },
        { type: "message", role: "user", content: "What is my name?" },
      ],
    },
  },
];

/** Sends `scenario` (with `extra`, e.g. the model) to `url` and checks what comes back as the suite does:
 * a 200's Response (the stream's last event's) complete and schema-valid, a stream's events valid and
 * numbered from 0. Anything else is returned as it came, for the caller to judge. */
export async function runScenario(
  url: string,
  extra: Record<string, unknown>,
  scenario: Scenario,
): Promise<{ status: number; response?: any; error?: any }> {
  const where = scenario.name;
  const body = { ...extra, ...scenario.body };
  if (body.stream) {
    const { status, text } = await readRaw(url, body);
    if (status !== 200) return { status, error: text };
    const events = text
      .split("\n\n")
      .filter((block) => block.includes("data: {"))
      .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)));
    events.forEach((event, i) => {
      assertOpenAISchema("ResponseStreamEvent", event);
      assert.is(event.sequence_number, i, `${where}: event ${i} numbered`);
    });
    const last = events.at(-1)!;
    assert.match(last.type, /^response\.(completed|incomplete)$/, where);
    assert.equal(
      REQUIRED_RESPONSE_FIELDS.filter((f) => !(f in last.response)),
      [],
      `${where}: final response`,
    );
    return { status, response: last.response };
  }
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as any;
  if (res.status !== 200) return { status: res.status, error: json };
  assert.equal(
    REQUIRED_RESPONSE_FIELDS.filter((f) => !(f in json)),
    [],
    where,
  );
  assertOpenAISchema("Response", json);
  return { status: res.status, response: json };
}
