// Every Response the gateway returns carries every field the Open Responses specification requires
// (ResponseResource), whatever the engine sent: the native answer (from an engine that leaves fields out,
// as llama.cpp does) and the chat bridge's, JSON and the stream's response events, a stored one read back,
// a background run polled with the `openai` SDK while it is queued or running. And a create that continues
// what the caller does not hold is OpenAI's `previous_response_not_found`, in every dialect's envelope.
import OpenAI from "openai";
import * as assert from "uvu/assert";
import { REQUIRED_RESPONSE_FIELDS } from "../../src/dialects/openai/response-object.ts";
import { assertOpenAISchema } from "../helpers/contract.ts";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gatewaySuite, postJson } from "../helpers/gateway.ts";
import { runScenario, SCENARIOS } from "../helpers/open-responses.ts";
import { readRaw } from "../helpers/sse.ts";

// Two deployments over one simulator: `native` asks its /v1/responses, `bridge` serves the API over its chat
// completions (`responses_api: chat`); a deployment, not a module-wide memory, decides the path.
const test = gatewaySuite("responses-objects", (sim) => {
  const file = join(mkdtempSync(join(tmpdir(), "responses-objects-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n  - { name: native, url: ${sim.url}, responses_api: native }\n  - { name: bridge, url: ${sim.url}, responses_api: chat }\n`,
  );
  return ["--config", file];
});
const SETTINGS = {
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
    for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"]) {
      const res = await postJson(`${gw.url}${path}`, { ...SETTINGS, model: engine, input: "hello" });
      assert.is(res.status, 200, JSON.stringify(res.json));
      assertComplete(res.json, `${engine} ${path} JSON`);
      assert.is(res.json.completed_at === null, res.json.status !== "completed", "completed_at iff completed");
      const stored = await fetch(`${gw.url}/v1/responses/${res.json.id}`).then((r) => r.json());
      assertComplete(stored as Record<string, unknown>, `${engine} ${path} stored`);

      const streamed = await readRaw(`${gw.url}${path}`, { ...SETTINGS, model: engine, input: "hello", stream: true });
      const events = streamedResponses(streamed.text);
      assert.equal(events.map((e) => e.type).slice(0, 2), ["response.created", "response.in_progress"]);
      assert.match(events.at(-1)!.type, /^response\.(completed|incomplete)$/);
      for (const event of events) assertComplete(event.response, `${engine} ${path} ${event.type}`);
      assert.is(events.at(-1)!.response.usage.output_tokens_details.reasoning_tokens, 0);
    }
  });

for (const engine of ["native", "bridge"] as const)
  for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"])
    test(`open_responses_scenarios_${engine}_${path.split("?")[0]!.replaceAll("/", "_")}`, async ({ gw, sim }) => {
      sim.sparseEvents = true;
      for (const scenario of SCENARIOS) {
        const outcome = await runScenario(`${gw.url}${path}`, { model: engine }, scenario);
        assert.is(outcome.status, 200, `${scenario.name} (${engine} ${path}): ${JSON.stringify(outcome.error)}`);
        scenario.expect?.(outcome.response);
      }
    });

test("the_fields_of_2026_are_accepted_stored_echoed_and_the_safety_identifier_logged", async ({ gw, sim, logs }) => {
  const body = {
    input: "hi",
    prompt_cache_key: "tenant-7",
    prompt_cache_retention: "24h",
    safety_identifier: "user-hash-42",
    user_security_context: { end_user_id: "user-hash-42", application_name: "support-bot" },
    context_management: [{ type: "compaction", compact_threshold: 20000 }],
  };
  for (const engine of ["native", "bridge"] as const) {
    const res = await postJson(`${gw.url}/openai/v1/responses`, { ...body, model: engine });
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
    model: "native",
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
  assert.ok(seen.has("completed") || seen.has("incomplete"), `statuses seen: ${[...seen]}`);
  assert.ok(seen.has("in_progress") || seen.has("queued"), `polled while it ran: ${[...seen]}`);
});

test("continuing_what_the_caller_does_not_hold_is_previous_response_not_found_in_every_envelope", async ({
  gw,
  sim,
}) => {
  const posts = () => sim.requests.filter((r) => r.method === "POST").length;
  const asked = posts();
  for (const path of ["/v1/responses", "/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"]) {
    const res = await postJson(`${gw.url}${path}`, { model: "native", input: "x", previous_response_id: "resp_gone" });
    assert.is(res.status, 400, path);
    assert.is(res.json.error.code, "previous_response_not_found", path);
    assert.is(res.json.error.param, "previous_response_id", path);
    assert.is(res.json.error.message, "Previous response with id 'resp_gone' not found.", path);
  }
  assert.is(posts(), asked, "the engine was not asked");
  const read = await fetch(`${gw.url}/v1/responses/resp_gone`);
  assert.is(read.status, 404, "reading an unknown id stays a 404");
});

for (const engine of ["native", "bridge"] as const)
  test(`a_response_names_the_deployment_not_the_engines_model_file_${engine}`, async ({ gw, sim }) => {
    sim.models = ["/home/me/.cache/models/tiny-qwen2-chat.gguf"]; // llama-server without --alias
    const made = await postJson(`${gw.url}/openai/v1/responses`, { model: engine, input: "hi" });
    assert.is(made.status, 200, JSON.stringify(made.json));
    assert.is(sim.last(engine === "native" ? "/v1/responses" : "/v1/chat/completions").body.model, sim.models[0]);
    assert.is(made.json.model, engine);
    const stored = await (await fetch(`${gw.url}/openai/v1/responses/${made.json.id}`)).json();
    assert.is((stored as any).model, engine);
    const raw = await readRaw(`${gw.url}/openai/v1/responses`, { model: engine, input: "hi", stream: true });
    for (const { response } of streamedResponses(raw.text)) assert.is(response.model, engine, raw.text);
  });

test("without_authentication_every_caller_is_one_owner_whatever_key_it_sends", async ({ gw }) => {
  // docs/state.md: a gateway without --api-key or consumers authenticates nothing, so a key is no owner.
  const made = await postJson(
    `${gw.url}/v1/responses`,
    { model: "native", input: "hi" },
    { authorization: "Bearer sdk-placeholder" },
  );
  assert.is(made.status, 200);
  for (const headers of [{}, { "api-key": "another" }, { authorization: "Bearer yet-another" }])
    assert.is(
      (await fetch(`${gw.url}/v1/responses/${made.json.id}`, { headers })).status,
      200,
      JSON.stringify(headers),
    );
});

test.run();
