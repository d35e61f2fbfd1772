// Several engines behind one gateway through a deployments file (--config): three simulators (a chat
// engine, an embeddings engine, a second chat model), driven by the Azure JS client and the `openai` SDK.
// Each request must land on the right engine (the simulators' records), listings name the deployments,
// /ready follows each engine, a deployment's cap is its own.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import OpenAI, { AzureOpenAI } from "openai";
import { API, azureClient, postJson, startGateway, untilStatus, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  chat: EngineSim;
  embed: EngineSim;
  small: EngineSim;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("deployments");
const MESSAGES = [{ role: "user" as const, content: "hi" }];

function writeConfig(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "deployments-")), "deployments.yaml");
  writeFileSync(file, text);
  return file;
}

test.before(async (ctx) => {
  ctx.chat = await new EngineSim().start();
  ctx.chat.models = ["org/chat-a"];
  ctx.embed = await new EngineSim().start();
  ctx.embed.models = ["org/embed"];
  ctx.small = await new EngineSim().start();
  ctx.small.models = ["org/chat-b"];
  const file = writeConfig(`deployments:
  - name: chat
    url: ${ctx.chat.url}
    operations: [chat, completions, responses]
  - name: embed
    url: ${ctx.embed.url}
    operations: [embeddings]
  - name: small
    url: ${ctx.small.url}
    model: org/chat-b
    max_concurrent: 1
`);
  ctx.logs = [];
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", file, "--queue-timeout", "0"], ctx.logs);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await Promise.all([ctx.chat.close(), ctx.embed.close(), ctx.small.close()]);
});
test.before.each((ctx) => {
  for (const sim of [ctx.chat, ctx.embed, ctx.small]) sim.requests.length = 0;
});

const posts = (sim: EngineSim) => sim.requests.filter((r) => r.method === "POST");

test("azure_inference_routes_by_model_and_by_azureml_model_deployment", async ({ gw, chat, embed, small }) => {
  const client = azureClient(gw.url);
  const a = await client.path("/chat/completions").post({ body: { model: "chat", messages: MESSAGES } });
  assert.is(a.status, "200");
  assert.is(posts(chat).at(-1)!.body.model, "org/chat-a", "the engine model discovered from its /v1/models");
  const b = await client
    .path("/chat/completions")
    .post({ body: { messages: MESSAGES }, headers: { "azureml-model-deployment": "small" } });
  assert.is(b.status, "200");
  assert.is(posts(small).at(-1)!.body.model, "org/chat-b");
  const e = await client.path("/embeddings").post({ body: { model: "embed", input: ["x"] } });
  assert.is(e.status, "200");
  assert.is(posts(embed).length, 1);
  assert.is(posts(chat).length + posts(small).length, 2, "nothing else reached another engine");
  const alias = await postJson(`${gw.url}/chat/completions?${API}`, { model: "org/chat-b", messages: MESSAGES });
  assert.is(alias.status, 200, "a deployment's declared engine model names it too");
  assert.is(posts(small).length, 2);
});

test("no_name_and_several_could_serve_is_a_400_listing_them", async ({ gw, embed, small }) => {
  const res = await postJson(`${gw.url}/embeddings?${API}`, { input: ["x"] });
  assert.is(res.status, 400);
  assert.is(res.json.error.code, "InvalidRequestBody");
  assert.match(
    res.json.error.message,
    /these serve embeddings: embed \(embeddings\); small \(chat, completions, embeddings, image-embeddings, responses\)/,
  );
  assert.is(posts(embed).length + posts(small).length, 0);
});

test("a_body_without_model_follows_the_rule_in_every_dialect_default_or_a_400_listing", async ({ gw, chat, embed }) => {
  // Several deployments serve chat here and the file names no default: a 400 listing them, as Azure AI Inference.
  for (const path of ["/v1/chat/completions", "/openai/v1/chat/completions"]) {
    const res = await postJson(`${gw.url}${path}`, { messages: MESSAGES });
    assert.is(res.status, 400, path);
    assert.match(JSON.stringify(res.json), /Name a deployment in `model`/, path);
  }
  // With a `default`, a body without `model` goes there, in every dialect.
  const file = writeConfig(
    `default: chat\ndeployments:\n  - { name: chat, url: ${chat.url} }\n  - { name: embed, url: ${embed.url}, operations: [embeddings] }\n`,
  );
  const withDefault = await startGateway("http://127.0.0.1:9", ["--config", file]);
  try {
    for (const [path, body] of [
      ["/v1/chat/completions", { messages: MESSAGES }],
      ["/openai/v1/chat/completions", { messages: MESSAGES }],
      ["/openai/v1/responses", { input: "hi" }],
    ] as const) {
      const before = posts(chat).length;
      const res = await postJson(`${withDefault.url}${path}`, body);
      assert.is(res.status, 200, `${path}: ${JSON.stringify(res.json)}`);
      assert.is(posts(chat).length, before + 1, `${path} reached the default deployment`);
      assert.is(chat.last().body.model, "org/chat-a", "the engine is asked for its own model");
    }
  } finally {
    await withDefault.close();
  }
});

test("an_operation_a_deployment_does_not_serve_names_those_that_do", async ({ gw }) => {
  const res = await postJson(`${gw.url}/embeddings?${API}`, { model: "chat", input: ["x"] });
  assert.is(res.status, 404);
  assert.is(res.json.error.code, "OperationNotSupported");
  assert.is(
    res.json.error.message,
    "The deployment 'chat' does not serve embeddings; deployments that do: embed, small.",
  );
  const unknown = await postJson(`${gw.url}/openai/v1/chat/completions`, { model: "nope", messages: MESSAGES });
  assert.is(unknown.status, 404);
  assert.is(unknown.json.error.code, "DeploymentNotFound");
  assert.match(
    unknown.json.error.message,
    /^The deployment 'nope' does not exist here\. Deployments: chat \(chat, completions, responses\); embed \(embeddings\); small /,
  );
  const header = await postJson(
    `${gw.url}/chat/completions?${API}`,
    { messages: MESSAGES },
    { "azureml-model-deployment": "blue" },
  );
  assert.is(
    header.status,
    400,
    "an azureml-model-deployment that names no deployment is Azure ML's, not ours: no name, two chat deployments",
  );
});

test("openai_clients_in_every_dialect_reach_the_deployment_they_name", async ({ gw, chat, embed, small }) => {
  const v1 = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: "k", maxRetries: 0 });
  const answer = await v1.chat.completions.create({ model: "small", messages: MESSAGES });
  assert.ok(answer.choices[0]!.message.content);
  assert.is(posts(small).length, 1);
  const azure = new AzureOpenAI({
    endpoint: gw.url,
    apiKey: "k",
    apiVersion: "2024-10-21",
    deployment: "chat",
    maxRetries: 0,
  });
  await azure.chat.completions.create({ model: "ignored-by-the-path", messages: MESSAGES });
  assert.is(posts(chat).length, 1, "the path's deployment wins");
  const engine = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "k", maxRetries: 0 });
  const vectors = await engine.embeddings.create({ model: "embed", input: "x" });
  assert.is(vectors.data.length, 1);
  assert.is(posts(embed).at(-1)!.body.model, "org/embed");
  const response = await v1.responses.create({ model: "chat", input: "hi" });
  assert.is(response.object, "response");
  const stored = await v1.responses.retrieve(response.id);
  assert.is(stored.id, response.id, "a stored response is found on the engine that holds it");
});

test("listings_name_the_deployments_and_their_operations", async ({ gw }) => {
  for (const url of [
    `${gw.url}/openai/v1/models`,
    `${gw.url}/v1/models`,
    `${gw.url}/openai/models?api-version=2024-10-21`,
  ]) {
    const list = (await fetch(url).then((r) => r.json())) as any;
    assert.equal(
      list.data.map((m: any) => [m.id, m.operations]),
      [
        ["chat", ["chat", "completions", "responses"]],
        ["embed", ["embeddings"]],
        ["small", ["chat", "completions", "embeddings", "image-embeddings", "responses"]],
      ],
      url,
    );
  }
  const one = (await fetch(`${gw.url}/v1/models/embed`).then((r) => r.json())) as any;
  assert.is(one.id, "embed");
  assert.is((await fetch(`${gw.url}/v1/models/nope`)).status, 404);
  const info = (await fetch(`${gw.url}/info?${API}&model=embed`).then((r) => r.json())) as any;
  assert.equal(info, { model_name: "embed", model_type: "embeddings", model_provider_name: "org" });
  const chatInfo = (await fetch(`${gw.url}/info?${API}`, { headers: { "azureml-model-deployment": "small" } }).then(
    (r) => r.json(),
  )) as any;
  assert.equal(chatInfo, { model_name: "chat-b", model_type: "chat-completion", model_provider_name: "org" });
});

test("ready_follows_each_engine_and_names_the_one_that_is_not", async ({ gw, small }) => {
  const ready = (await fetch(`${gw.url}/ready`).then((r) => r.json())) as any;
  assert.equal(Object.keys(ready.deployments), ["chat", "embed", "small"]);
  assert.is(ready.deployments.small.state, "ready");
  const port = small.port;
  await small.close();
  try {
    await untilStatus(`${gw.url}/ready?deployment=*`, 503, 2500);
    const body = (await fetch(`${gw.url}/ready?deployment=*`).then((r) => r.json())) as any;
    assert.match(body.error.message, /^Not ready: small: the engine is not ready \(for \d+ s\): /);
    // The pod still serves chat and embeddings: one dead backend does not take it out of its Service.
    const pod = (await fetch(`${gw.url}/ready`).then((r) => r.json())) as any;
    assert.is(pod.status, "ready");
    assert.is(pod.deployments.small.state, "unavailable");
    assert.is((await fetch(`${gw.url}/ready?deployment=chat`)).status, 200, "one deployment's view");
    assert.is((await fetch(`${gw.url}/ready?deployment=small`)).status, 503);
    assert.is(
      (await postJson(`${gw.url}/chat/completions?${API}`, { model: "chat", messages: MESSAGES })).status,
      200,
      "the others keep serving",
    );
  } finally {
    await small.start(port);
  }
  await untilStatus(`${gw.url}/ready?deployment=*`, 200, 2500);
});

test("a_deployment_cap_is_its_own_and_requests_are_counted_and_logged_by_deployment", async ({ gw, logs, small }) => {
  const reached = small.nextRequest();
  const held = postJson(
    `${gw.url}/chat/completions?${API}`,
    { model: "small", messages: MESSAGES, stream: true, max_tokens: 20, sim_gap_ms: 20 },
    { "extra-parameters": "pass-through" },
  );
  await reached; // in flight: its slot is held until its stream closes
  const second = await postJson(`${gw.url}/chat/completions?${API}`, { model: "small", messages: MESSAGES });
  assert.is(second.status, 429);
  assert.is(second.headers.get("retry-after"), "1");
  assert.match(second.json.error.message, /^The deployment 'small' has 1 requests in flight, its max_concurrent/);
  assert.is(
    (await postJson(`${gw.url}/chat/completions?${API}`, { model: "chat", messages: MESSAGES })).status,
    200,
    "another deployment is not capped by it",
  );
  assert.is((await held).status, 200);
  const after = await postJson(`${gw.url}/chat/completions?${API}`, { model: "small", messages: MESSAGES });
  assert.is(after.status, 200, "the slot is given back when the stream ends");
  assert.match(after.headers.get("server-timing") ?? "", /^upstream;desc="small";dur=[\d.]+, gateway;dur=[\d.]+$/);
  const metrics = await fetch(`${gw.url}/metrics`).then((r) => r.text());
  assert.match(metrics, /gateway_deployment_requests_total\{deployment="small",status="429"\} 1/);
  assert.match(metrics, /gateway_engine_ready\{deployment="embed"\} 1/);
  const line = logs.filter((l) => l.msg === "request" && l.path === "/chat/completions").at(-1)!;
  assert.is(line.deployment, "small");
});

test("the_example_file_and_client_work_in_front_of_two_engines", async ({ chat, embed }) => {
  const example = readFileSync(resolve(import.meta.dirname, "../../examples/deployments/deployments.yaml"), "utf8");
  const file = writeConfig(
    example.replace("http://127.0.0.1:8000", chat.url).replace("http://127.0.0.1:8080", embed.url),
  );
  const gw = await startGateway("http://127.0.0.1:9", ["--config", file]);
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [resolve(import.meta.dirname, "../../examples/javascript/deployments.mjs")],
      { env: { ...process.env, ENDPOINT: gw.url }, timeout: 20_000 },
    );
    assert.equal(stdout.split("\n").filter(Boolean), [
      "deployment: chat (chat, completions, responses)",
      "deployment: embed (embeddings)",
      "chat: The quick brown fox jumps over the lazy dog and keeps on running The quick brown",
      "embed: 2 vectors of 8 dimensions",
      "azure embed: 1 vector, 2 tokens",
    ]);
    assert.is(posts(chat).length, 1);
    assert.is(posts(embed).length, 2);
  } finally {
    await gw.close();
  }
});

test("one_deployment_in_a_file_is_the_flags_engine_every_name_stands_for_it", async ({ chat }) => {
  const gw = await startGateway("http://127.0.0.1:9", [
    "--config",
    writeConfig(`deployments:\n  - name: only\n    url: ${chat.url}\n`),
  ]);
  try {
    assert.is(
      (await postJson(`${gw.url}/chat/completions?${API}`, { model: "gpt-4o", messages: MESSAGES })).status,
      200,
    );
    assert.is(
      (await postJson(`${gw.url}/openai/v1/chat/completions`, { model: "anything", messages: MESSAGES })).status,
      200,
    );
    assert.is(posts(chat).at(-1)!.body.model, "org/chat-a");
  } finally {
    await gw.close();
  }
});

test("config_errors_exit_2_with_the_place_and_no_stack", async () => {
  const file = writeConfig("deployments:\n  - name: a\n    url: http://h:1\n  - name: a\n    url: http://h:2\n");
  const main = resolve(import.meta.dirname, "../../src/main.ts");
  const failed = await promisify(execFile)(process.execPath, ["--import", "tsx", main, "--config", file]).then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok(failed, "refused");
  assert.is(failed!.code, 2);
  assert.is(
    failed!.stderr,
    `azure-openai-proxy: --config: ${file}:4: the name 'a' is used twice (also at line 2)\nTry --help.\n`,
  );
});

test.run();
