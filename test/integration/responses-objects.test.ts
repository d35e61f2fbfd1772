// Every Response the gateway returns carries every field the Open Responses specification requires
// (ResponseResource), whatever the engine sent: the native answer (from an engine that leaves fields out,
// as llama.cpp does) and the chat bridge's, JSON and the stream's response events, a stored one read back,
// a background run polled with the `openai` SDK while it is queued or running. And a create that continues
// what the caller does not hold is OpenAI's `previous_response_not_found`, in every dialect's envelope.
import OpenAI from "openai";
import * as assert from "uvu/assert";
import { REQUIRED_RESPONSE_FIELDS } from "../../src/dialects/openai/response-object.ts";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { gatewaySuite, postJson } from "../helpers/gateway.ts";
import { readRaw } from "../helpers/sse.ts";

const test = gatewaySuite("responses-objects");
const SETTINGS = {
  model: "sim",
  instructions: "Answer briefly.",
  temperature: 0.4,
  max_output_tokens: 32,
  metadata: { case: "objects" },
  prompt_cache_key: "tenant-7",
  safety_identifier: "user-42",
};

function assertComplete(response: Record<string, unknown>, where: string): void {
  const missing = REQUIRED_RESPONSE_FIELDS.filter((field) => !(field in response));
  assert.equal(missing, [], `${where}: fields missing`);
  assertOpenAISchema("Response", response);
  assert.is(response.instructions, SETTINGS.instructions, `${where}: instructions echoed`);
  assert.is(response.max_output_tokens, SETTINGS.max_output_tokens, where);
  assert.equal(response.metadata, SETTINGS.metadata, where);
  assert.is(response.prompt_cache_key, SETTINGS.prompt_cache_key, where);
  assert.is(response.safety_identifier, SETTINGS.safety_identifier, where);
}

const streamedResponses = (text: string) =>
  text
    .split("\n\n")
    .filter((block) => block.includes("data: {"))
    .map((block) => JSON.parse(block.slice(block.indexOf("data: ") + 6)) as { type: string; response?: any })
    .filter((event) => event.response !== undefined);

for (const engine of ["native", "bridge"] as const)
  test(`json_stream_and_stored_responses_are_complete_${engine}`, async ({ gw, sim }) => {
    sim.sparseEvents = true; // llama.cpp's objects and events
    sim.noResponses = engine === "bridge";
    for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"]) {
      const res = await postJson(`${gw.url}${path}`, { ...SETTINGS, input: "hello" });
      assert.is(res.status, 200, JSON.stringify(res.json));
      assertComplete(res.json, `${engine} ${path} JSON`);
      assert.is(res.json.completed_at === null, res.json.status !== "completed", "completed_at iff completed");
      const stored = await fetch(`${gw.url}/v1/responses/${res.json.id}`).then((r) => r.json());
      assertComplete(stored as Record<string, unknown>, `${engine} ${path} stored`);

      const streamed = await readRaw(`${gw.url}${path}`, { ...SETTINGS, input: "hello", stream: true });
      const events = streamedResponses(streamed.text);
      assert.equal(events.map((e) => e.type).slice(0, 2), ["response.created", "response.in_progress"]);
      assert.match(events.at(-1)!.type, /^response\.(completed|incomplete)$/);
      for (const event of events) assertComplete(event.response, `${engine} ${path} ${event.type}`);
      assert.is(events.at(-1)!.response.usage.output_tokens_details.reasoning_tokens, 0);
    }
  });

/** The Open Responses compliance suite's six scenarios (basic, streaming, system prompt, tool calling,
 * image input, multi-turn), their requests as the suite sends them, checked the way it checks them: the
 * Response against ResponseResource (every required field; the pinned OpenAI schema), and a stream's events
 * against ResponseStreamEvent, numbered in order, ending with the complete Response. */
const SCENARIOS: Array<{ name: string; body: Record<string, unknown>; expect?: (r: any) => void }> = [
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

for (const engine of ["native", "bridge"] as const)
  for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"])
    test(`open_responses_scenarios_${engine}_${path.split("?")[0]!.replaceAll("/", "_")}`, async ({ gw, sim }) => {
      sim.sparseEvents = true;
      sim.noResponses = engine === "bridge";
      for (const { name, body, expect } of SCENARIOS) {
        const where = `${name} (${engine} ${path})`;
        if (body.stream) {
          const { status, text } = await readRaw(`${gw.url}${path}`, { model: "sim", ...body });
          assert.is(status, 200, where);
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
          continue;
        }
        const res = await postJson(`${gw.url}${path}`, { model: "sim", ...body });
        assert.is(res.status, 200, `${where}: ${JSON.stringify(res.json).slice(0, 300)}`);
        assert.equal(
          REQUIRED_RESPONSE_FIELDS.filter((f) => !(f in res.json)),
          [],
          where,
        );
        assertOpenAISchema("Response", res.json);
        expect?.(res.json);
      }
    });

test("the_fields_of_2026_are_accepted_stored_echoed_and_the_safety_identifier_logged", async ({ gw, sim, logs }) => {
  const body = {
    model: "sim",
    input: "hi",
    prompt_cache_key: "tenant-7",
    prompt_cache_retention: "24h",
    safety_identifier: "user-hash-42",
    user_security_context: { end_user_id: "user-hash-42", application_name: "support-bot" },
    context_management: [{ type: "compaction", compact_threshold: 20000 }],
  };
  for (const engine of ["native", "bridge"] as const) {
    sim.noResponses = engine === "bridge";
    const res = await postJson(`${gw.url}/openai/v1/responses`, body);
    assert.is(res.status, 200, `${engine}: ${JSON.stringify(res.json)}`);
    const stored = (await fetch(`${gw.url}/openai/v1/responses/${res.json.id}`).then((r) => r.json())) as any;
    for (const r of [res.json, stored]) {
      assert.is(r.prompt_cache_key, "tenant-7", engine);
      assert.is(r.prompt_cache_retention, "24h", engine);
      assert.is(r.safety_identifier, "user-hash-42", engine);
    }
    if (engine === "bridge") {
      const chat = sim.last("/v1/chat/completions").body;
      for (const field of ["prompt_cache_key", "safety_identifier", "user_security_context", "context_management"])
        assert.not.ok(field in chat, `${field} is not sent to a chat engine`);
    }
  }
  const lines = logs.filter((l) => l.msg === "request" && l.path === "/openai/v1/responses");
  assert.equal(
    lines.map((l) => l.safetyIdentifier),
    ["user-hash-42", "user-hash-42"],
  );
});

test("a_background_run_polled_with_the_sdk_is_a_complete_response_while_it_runs", async ({ gw, sim }) => {
  sim.sparseEvents = true;
  const openai = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
  const run = await openai.responses.create({
    ...SETTINGS,
    input: "slowly",
    background: true,
    sim_gap_ms: 40,
  } as never);
  assert.is((run as { status: string }).status, "queued");
  assertComplete(run as never, "queued");
  const seen = new Set<string>();
  for (let polled = await openai.responses.retrieve(run.id); ; polled = await openai.responses.retrieve(run.id)) {
    // The SDK reads output_text from `output` (it threw `rsp.output is not iterable` on a sparse object).
    assert.type(polled.output_text, "string");
    assertComplete(polled as never, polled.status!);
    assert.is(polled.background, true);
    seen.add(polled.status!);
    if (!["queued", "in_progress"].includes(polled.status!)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.ok(seen.has("incomplete"), `statuses seen: ${[...seen]}`); // it reached max_output_tokens
  assert.ok(seen.has("in_progress") || seen.has("queued"), `polled while it ran: ${[...seen]}`);
});

test("continuing_what_the_caller_does_not_hold_is_previous_response_not_found_in_every_envelope", async ({
  gw,
  sim,
}) => {
  const posts = () => sim.requests.filter((r) => r.method === "POST").length;
  const asked = posts();
  for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"]) {
    const res = await postJson(`${gw.url}${path}`, { model: "sim", input: "x", previous_response_id: "resp_gone" });
    assert.is(res.status, 400, path);
    assert.is(res.json.error.code, "previous_response_not_found", path);
    assert.is(res.json.error.param, "previous_response_id", path);
    assert.is(res.json.error.message, "Previous response with id 'resp_gone' not found.", path);
  }
  assert.is(posts(), asked, "the engine was not asked");
  const read = await fetch(`${gw.url}/v1/responses/resp_gone`);
  assert.is(read.status, 404, "reading an unknown id stays a 404");
});

test.run();
