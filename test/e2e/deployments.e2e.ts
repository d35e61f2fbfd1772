// The chat and embeddings engines (llama-server, or whatever E2E_CHAT_UPSTREAM / E2E_EMBED_UPSTREAM name)
// behind one gateway through one deployments file: each request reaches its engine, listings and
// /ready name both deployments, and a request for an operation a deployment does not serve is refused
// before any engine is called.
import OpenAI from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { API, azureClient, postJson, startGateway, type RunningGateway } from "../helpers/gateway.ts";

const CHAT_URL = process.env.E2E_CHAT_URL!;
const EMBED_URL = process.env.E2E_EMBED_URL!;

const test = suite<{ gw: RunningGateway }>("e2e-deployments");

test.before(async (ctx) => {
  const file = join(mkdtempSync(join(tmpdir(), "e2e-deployments-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:
  - name: chat
    url: ${CHAT_URL}
    operations: [chat, completions, responses]
  - name: embed
    url: ${EMBED_URL}
    operations: [embeddings]
`,
  );
  ctx.gw = await startGateway("http://127.0.0.1:9", ["--config", file, "--idle-timeout", "30s"]);
});
test.after(async (ctx) => ctx.gw?.close());

test("each_deployment_answers_from_its_engine", async ({ gw }) => {
  const openai = new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: "none", maxRetries: 0 });
  const chat = await openai.chat.completions.create({
    model: "chat",
    messages: [{ role: "user", content: "Say hi." }],
    max_tokens: 8,
  });
  assert.ok(chat.choices[0]!.message.content !== undefined);
  const vectors = await openai.embeddings.create({ model: "embed", input: ["one", "two"], encoding_format: "float" });
  assert.is(vectors.data.length, 2);
  assert.ok(vectors.data[0]!.embedding.length > 8, "a real embedding");
  const azure = await azureClient(gw.url)
    .path("/embeddings")
    .post({ body: { input: ["three"] }, headers: { "azureml-model-deployment": "embed" } });
  assert.is(azure.status, "200");
});

test("listings_and_readiness_name_both", async ({ gw }) => {
  const list = (await fetch(`${gw.url}/v1/models`).then((r) => r.json())) as { data: Array<{ id: string }> };
  assert.equal(
    list.data.map((m) => m.id),
    ["chat", "embed"],
  );
  const ready = (await fetch(`${gw.url}/ready`).then((r) => r.json())) as {
    deployments: Record<string, { state: string }>;
  };
  assert.equal(Object.fromEntries(Object.entries(ready.deployments).map(([k, v]) => [k, v.state])), {
    chat: "ready",
    embed: "ready",
  });
});

test("an_operation_the_deployment_does_not_serve_is_refused_by_name", async ({ gw }) => {
  const res = await postJson(`${gw.url}/embeddings?${API}`, { model: "chat", input: ["x"] });
  assert.is(res.status, 404);
  assert.is(res.json.error.message, "The deployment 'chat' does not serve embeddings; deployments that do: embed.");
});

test.run();
