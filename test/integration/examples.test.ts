// Every JavaScript example and the curl script, run as a user would, against the gateway in front of
// the simulator: they must exit 0 and print what they promise.
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { gatewaySuite } from "../helpers/gateway.ts";

const run = promisify(execFile);
const test = gatewaySuite("examples");

const example = (file: string, endpoint: string) => run(process.execPath, [`examples/javascript/${file}`], { env: { ...process.env, ENDPOINT: endpoint }, timeout: 20_000 });

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
  assert.equal(second.messages.at(-1), { role: "tool", content: '{"city":"Paris","forecast":"sunny","celsius":21}', tool_call_id: "call_sim_1" });
});

test("embeddings", async ({ gw }) => {
  const { stdout } = await example("embeddings.mjs", gw.url);
  assert.match(stdout, /float #1: 8 values/);
  assert.match(stdout, /int8 #0: 8 values, first -?\d+, -?\d+/);
});

test("info", async ({ gw }) => {
  const { stdout } = await example("info.mjs", gw.url);
  assert.equal(JSON.parse(stdout), { model_name: "sim-model-1", model_type: "chat-completion", model_provider_name: "sim-org" });
});

test("curl_script", async ({ gw }) => {
  const { stdout } = await run("bash", ["examples/curl.sh"], { env: { ...process.env, ENDPOINT: gw.url }, timeout: 20_000 });
  assert.match(stdout, /"model_type":"chat-completion"/);
  assert.match(stdout, /data: \[DONE\]/);
  assert.match(stdout, /"code":"ExtraParametersNotAllowed"/);
  assert.match(stdout, /"object":"list"/);
});

test.run();
