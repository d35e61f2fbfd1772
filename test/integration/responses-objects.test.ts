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
