// Every JavaScript example and the curl script, run as a user would, against the gateway in front of
// the simulator: they must exit 0 and print what they promise.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gatewaySuite } from "../helpers/gateway.ts";

const run = promisify(execFile);
const test = gatewaySuite("examples");

const example = (file: string, endpoint: string) =>
  run(process.execPath, [`examples/javascript/${file}`], {
    env: { ...process.env, ENDPOINT: endpoint },
    timeout: 20_000,
  });

test("chat", async ({ gw }) => {
  const { stdout } = await example("chat.mjs", gw.url);
  assert.match(stdout, /The quick brown fox/);
  assert.match(stdout, /usage:/);
});

test("streaming", async ({ gw }) => {
  const { stdout } = await example("streaming.mjs", gw.url);
  assert.match(stdout, /^The quick brown fox jumps/);
  assert.match(stdout, /\[usage: \{"completion_tokens":128,/);
});

test("tools", async ({ gw, sim }) => {
  const { stdout } = await example("tools.mjs", gw.url);
  assert.match(stdout, /model called get_weather\(\{"city":"Paris"\}\)/);
  const second = sim.last("/v1/chat/completions").body;
  assert.equal(second.messages.at(-1), {
    role: "tool",
    content: '{"city":"Paris","forecast":"sunny","celsius":21}',
    tool_call_id: "call_sim_1",
  });
});

test("tools_with_what_small_models_produce", async ({ gw, sim }) => {
  const answer = (finish: string, message: object) => ({
    json: {
      id: "c",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        { index: 0, finish_reason: finish, logprobs: null, message: { role: "assistant", refusal: null, ...message } },
      ],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    },
  });
  const call = (args: string) => ({
    content: null,
    tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: args } }],
  });
  const outcome = (file: string) =>
    example(file, gw.url).then(
      (r) => ({ code: 0, stdout: r.stdout }),
      (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
    );

  sim.next(answer("length", call('{"city": "Pa')));
  assert.equal(await outcome("tools.mjs"), {
    code: 1,
    stdout: "the model ran out of tokens before it finished the call; raise max_tokens\n",
  });
  sim.next(answer("tool_calls", call('{"city": "Par')));
  const broken = await outcome("tools.mjs");
  assert.is(broken.code, 1);
  assert.match(broken.stdout, /not running the tool: arguments that are not JSON \(truncated\?\)/);
  sim.next(answer("tool_calls", call('{"town": "Paris"}')));
  assert.match((await outcome("tools.mjs")).stdout, /not running the tool: arguments without a 'city' string/);
  sim.next(answer("stop", { content: "It is sunny." }));
  assert.equal(await outcome("tools.mjs"), {
    code: 0,
    stdout: "the model answered without calling get_weather: It is sunny.\n",
  });
});

test("embeddings", async ({ gw }) => {
  const { stdout } = await example("embeddings.mjs", gw.url);
  assert.match(stdout, /float #1: 8 values/);
  assert.match(stdout, /int8 #0: 8 values, first -?\d+, -?\d+/);
});

test("info", async ({ gw }) => {
  const { stdout } = await example("info.mjs", gw.url);
  assert.equal(JSON.parse(stdout), {
    model_name: "sim-model-1",
    model_type: "chat-completion",
    model_provider_name: "sim-org",
  });
});

test("azure_openai_deployments", async ({ gw, sim }) => {
  const { stdout } = await example("azure-openai-deployments.mjs", gw.url);
  assert.match(stdout, /chat: The quick brown fox/);
  assert.match(stdout, /stream: The quick brown fox.*\n\[usage: 16 completion tokens\]/);
  assert.match(stdout, /embeddings: 2 vectors of 8 values/);
  assert.ok(sim.requests.some((r) => r.path === "/v1/embeddings" && r.body.encoding_format === "base64"));
});

test("azure_openai_v1", async ({ gw }) => {
  const { stdout } = await example("azure-openai-v1.mjs", gw.url);
  assert.match(stdout, /responses: The quick brown fox/);
  assert.match(stdout, /responses stream: The quick brown fox.*\n\[completed: 16 output tokens\]/);
  assert.match(stdout, /model: sim-org\/sim-model-1/);
});

test("openai_engine", async ({ gw, sim }) => {
  const { stdout } = await example("openai-engine.mjs", gw.url);
  assert.match(stdout, /model: sim-org\/sim-model-1/);
  assert.match(stdout, /chat: The quick brown fox/);
  assert.match(stdout, /completion: The quick brown fox/);
  assert.match(stdout, /error: BadRequestError 400 invalid_request_body: .*messages/);
  assert.ok(sim.requests.some((r) => r.path === "/v1/chat/completions" && r.body.top_k === 20));
});

test("curl_openai_script", async ({ gw }) => {
  const { stdout } = await run("bash", ["examples/curl-openai.sh"], {
    env: { ...process.env, ENDPOINT: gw.url },
    timeout: 20_000,
  });
  assert.match(stdout, /"object":"chat.completion"/);
  assert.match(stdout, /event: response.output_text.delta\ndata: /);
  assert.match(stdout, /event: response.completed/);
  assert.match(stdout, /"code":"MissingApiVersionParameter"/);
  assert.match(stdout, /"object":"list"/);
});

test("curl_script", async ({ gw }) => {
  const { stdout } = await run("bash", ["examples/curl.sh"], {
    env: { ...process.env, ENDPOINT: gw.url },
    timeout: 20_000,
  });
  assert.match(stdout, /"model_type":"chat-completion"/);
  assert.match(stdout, /data: \[DONE\]/);
  assert.match(stdout, /"code":"ExtraParametersNotAllowed"/);
  assert.match(stdout, /"object":"list"/);
});

test.run();
