// The Responses routes beyond create: deployment-scoped (what LangChain's AzureChatOpenAI with
// useResponsesApi and the AI SDK's createAzure({ useDeploymentBasedUrls: true }) call), input token
// counts; with one engine and with a deployments file whose path names the engine.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { postJson, startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  sim: EngineSim;
  other: EngineSim;
  gw: RunningGateway;
  filed: RunningGateway;
}
const test = suite<Ctx>("responses-routes");
const DATED = "api-version=2025-04-01-preview";

test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.other = await new EngineSim().start();
  ctx.other.models = ["org/other"];
  ctx.gw = await startGateway(ctx.sim.url);
  const file = join(mkdtempSync(join(tmpdir(), "responses-routes-")), "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n  - name: chat\n    url: ${ctx.sim.url}\n  - name: other\n    url: ${ctx.other.url}\n`,
  );
  ctx.filed = await startGateway(ctx.sim.url, ["--config", file]);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.filed.close();
  await ctx.sim.close();
  await ctx.other.close();
});
test.before.each((ctx) => {
  ctx.sim.reset();
  ctx.other.reset();
  ctx.other.models = ["org/other"];
});

const call = async (method: string, url: string) => {
  const res = await fetch(url, { method });
  return { status: res.status, json: (await res.json()) as any };
};

test("deployment_scoped_create_read_list_delete", async ({ gw, sim }) => {
  const base = `${gw.url}/openai/deployments/my-deployment/responses`;
  const created = await postJson(`${base}?${DATED}`, {
    input: [{ role: "user", content: [{ type: "input_text", text: "Say hello." }] }],
  });
  assert.is(created.status, 200, JSON.stringify(created.json));
  assert.is(created.json.object, "response");
  assert.is(sim.last("/v1/responses").body.model, "sim-org/sim-model-1"); // the path named the deployment
  const id = created.json.id as string;
  assert.is((await call("GET", `${base}/${id}?${DATED}`)).json.id, id);
  assert.is((await call("GET", `${base}/${id}/input_items?${DATED}`)).json.data.length, 1);
  assert.equal((await call("DELETE", `${base}/${id}?${DATED}`)).json, {
    id,
    object: "response.deleted",
    deleted: true,
  });
  const gone = await call("GET", `${base}/${id}?${DATED}`);
  assert.is(gone.status, 404);
  assert.ok(gone.json.error.message);
});

test("deployment_scoped_routes_keep_the_api_version_rule", async ({ gw, sim }) => {
  const missing = await postJson(`${gw.url}/openai/deployments/my-deployment/responses`, { input: "hi" });
  assert.is(missing.status, 400);
  assert.is(missing.json.error.code, "MissingApiVersionParameter");
  assert.is(sim.requests.filter((r) => r.method === "POST").length, 0);
});

test("input_token_counts_are_not_taken_for_a_response_id", async ({ gw, sim }) => {
  for (const url of [
    `${gw.url}/v1/responses/input_tokens`,
    `${gw.url}/openai/v1/responses/input_tokens`,
    `${gw.url}/openai/deployments/d/responses/input_tokens?${DATED}`,
  ]) {
    const counted = await postJson(url, { model: "d", input: "How many tokens is this?" });
    assert.is(counted.status, 200, `${url}: ${JSON.stringify(counted.json)}`);
    assert.is(counted.json.object, "response.input_tokens");
    assert.ok(counted.json.input_tokens > 0);
    assert.is(sim.last().path, "/v1/responses/input_tokens");
  }
});

test("compact_is_the_gateways_own_and_never_asks_the_engine_for_compact", async ({ gw, sim }) => {
  // Engines have no /responses/compact (it used to be forwarded, and 404): the gateway compacts itself
  // (compaction.test.ts).
  const res = await postJson(`${gw.url}/v1/responses/compact`, { model: "d", input: "hi" });
  assert.is(res.status, 200, JSON.stringify(res.json));
  assert.is(res.json.object, "response.compaction");
  assert.not.ok(sim.requests.some((r) => r.path.endsWith("/compact")));
});

test("the_path_picks_the_deployment_among_several", async ({ filed, sim, other }) => {
  const created = await postJson(`${filed.url}/openai/deployments/other/responses?${DATED}`, { input: "hi" });
  assert.is(created.status, 200, JSON.stringify(created.json));
  assert.is(other.last("/v1/responses").body.model, "org/other");
  assert.is(sim.requests.filter((r) => r.path === "/v1/responses").length, 0);
  const read = await call("GET", `${filed.url}/openai/deployments/other/responses/${created.json.id}?${DATED}`);
  assert.is(read.json.id, created.json.id);
  assert.is(sim.requests.filter((r) => r.path.startsWith("/v1/responses/")).length, 0); // asked only the named engine
  const unknown = await postJson(`${filed.url}/openai/deployments/nope/responses?${DATED}`, { input: "hi" });
  assert.is(unknown.status, 404);
  assert.is(unknown.json.error.code, "DeploymentNotFound");
});

test.run();
