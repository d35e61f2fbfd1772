import * as assert from "uvu/assert";
import { isUnexpected } from "@azure-rest/ai-inference";
import { simVector } from "../sim/engine.ts";
import { assertAzureSchema } from "../helpers/contract.ts";
import {
  API,
  azureClient,
  gatewaySuite,
  postJson,
  startGateway,
  type RunningGateway,
  untilStatus,
} from "../helpers/gateway.ts";
import { fromBase64, toBinary, toInt8, toUbinary, toUint8 } from "../../src/core/embedding-encoding.ts";

const test = gatewaySuite<{ embed: RunningGateway }>("embeddings-and-info");

// A second gateway on the same simulator, reporting model_type "embeddings".
test.before(async (ctx) => {
  ctx.embed = await startGateway(ctx.sim.url, ["--upstream-type", "embeddings"]);
});
test.after(async (ctx) => {
  await ctx.embed.close();
});

test("azure_js_client_gets_embeddings", async ({ gw, sim }) => {
  const res = await azureClient(gw.url)
    .path("/embeddings")
    .post({ body: { input: ["hello", "world"] } });
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assertAzureSchema("EmbeddingsResult", res.body);
  assert.is(res.body.data.length, 2);
  assert.equal(res.body.data[1]!.embedding, simVector("world", 8));
  assert.ok(res.body.id, "an id is synthesised: OpenAI has none, Azure requires one");
  assert.is(sim.last("/v1/embeddings").body.encoding_format, "float");
  assert.is(sim.last("/v1/embeddings").body.model, "sim-org/sim-model-1");
});

test("base64_comes_from_the_engine", async ({ gw, sim }) => {
  const res = await postJson(`${gw.url}/embeddings?${API}`, { input: ["a"], encoding_format: "base64", dimensions: 4 });
  assert.is(res.status, 200);
  assertAzureSchema("EmbeddingsResult", res.json);
  assert.is(sim.last("/v1/embeddings").body.encoding_format, "base64");
  assert.is(sim.last("/v1/embeddings").body.dimensions, 4);
  const floats = fromBase64(res.json.data[0].embedding);
  assert.ok(floats.every((v, i) => Math.abs(v - simVector("a", 4)[i]!) < 1e-6));
  assert.is(floats.length, 4);
});

for (const [format, encode] of [
  ["int8", toInt8],
  ["uint8", toUint8],
  ["binary", toBinary],
  ["ubinary", toUbinary],
] as const) {
  test(`${format}_is_computed_in_the_gateway`, async ({ gw, sim }) => {
    const res = await postJson(`${gw.url}/embeddings?${API}`, {
      input: ["quantize me"],
      encoding_format: format,
      dimensions: 16,
    });
    assert.is(res.status, 200);
    assertAzureSchema("EmbeddingsResult", res.json);
    assert.is(sim.last("/v1/embeddings").body.encoding_format, "float", "floats are asked for");
    const expected = encode(simVector("quantize me", 16));
    assert.equal(res.json.data[0].embedding, expected);
    assert.is(res.json.data[0].embedding.length, format.includes("binary") ? 2 : 16);
  });
}

test("unsupported_values_are_422", async ({ gw }) => {
  for (const body of [
    { input: ["a"], input_type: "query" },
    { input: ["a"], dimensions: 0 },
  ]) {
    const res = await postJson(`${gw.url}/embeddings?${API}`, body);
    assert.is(res.status, 422, JSON.stringify(body));
    assert.is(res.json.error.code, "UnsupportedParameterValue");
  }
  const ok = await postJson(`${gw.url}/embeddings?${API}`, { input: ["a"], input_type: "text" });
  assert.is(ok.status, 200);
});

test("image_embeddings_use_chat_style_messages", async ({ gw, sim }) => {
  const image = "data:image/png;base64,iVBORw0KGgo=";
  const res = await azureClient(gw.url)
    .path("/images/embeddings")
    .post({ body: { input: [{ image }, { image, text: "a cat" }] } });
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assertAzureSchema("EmbeddingsResult", res.body);
  assert.equal(
    res.body.data.map((d) => d.index),
    [0, 1],
  );
  const sent = sim.requests.filter((r) => r.path === "/v1/embeddings").map((r) => r.body.messages[0].content);
  assert.equal(
    sent.sort((a: any[], b: any[]) => a.length - b.length),
    [
      [{ type: "image_url", image_url: { url: image } }],
      [
        { type: "image_url", image_url: { url: image } },
        { type: "text", text: "a cat" },
      ],
    ],
  );
});

test("image_embeddings_on_an_engine_without_them_is_a_clear_4xx", async ({ gw, sim }) => {
  sim.next({
    status: 400,
    json: {
      error: {
        message: "Input should be a valid string: input",
        type: "invalid_request_error",
        param: "input",
        code: null,
      },
    },
  });
  const res = await postJson(`${gw.url}/images/embeddings?${API}`, {
    input: [{ image: "data:image/png;base64,AA==" }],
  });
  assert.is(res.status, 422);
  assert.match(res.json.error.message, /did not accept image embeddings/);
});

test("info_reports_the_served_model", async ({ gw, embed, sim }) => {
  sim.models = ["microsoft/Phi-3.5-mini-instruct"];
  const res = await azureClient(gw.url).path("/info").get();
  if (isUnexpected(res)) throw new Error(JSON.stringify(res.body));
  assertAzureSchema("ModelInfo", res.body);
  assert.equal(res.body, {
    model_name: "Phi-3.5-mini-instruct",
    model_type: "chat-completion",
    model_provider_name: "microsoft",
  });
  const e = await fetch(`${embed.url}/models/info?${API}`).then((r) => r.json());
  assert.is((e as any).model_type, "embeddings");
});

test("info_handles_odd_model_lists", async ({ gw, sim }) => {
  sim.models = ["/data/models/my-model"];
  assert.equal(await fetch(`${gw.url}/info?${API}`).then((r) => r.json()), {
    model_name: "my-model",
    model_type: "chat-completion",
    model_provider_name: "unknown",
  });
  sim.models = ["a/one", "b/two"];
  assert.is(((await fetch(`${gw.url}/info?${API}&model=b/two`).then((r) => r.json())) as any).model_name, "two");
  const missing = await fetch(`${gw.url}/info?${API}&model=c/three`);
  assert.is(missing.status, 404);
  assert.is(missing.headers.get("x-ms-error-code"), "ModelNotFound");
  sim.models = [];
  const empty = await fetch(`${gw.url}/info?${API}`);
  assert.is(empty.status, 503, "an empty list is an error, never a crash");
  assert.ok(empty.headers.get("retry-after"));
});

test("tei_without_v1_models_reports_its_model_from_info", async ({ embed, sim }) => {
  sim.tei = true;
  sim.models = ["BAAI/bge-small-en-v1.5"];
  const res = await fetch(`${embed.url}/info?${API}`);
  assert.equal(await res.json(), {
    model_name: "bge-small-en-v1.5",
    model_type: "embeddings",
    model_provider_name: "BAAI",
  });
  assert.is((await fetch(`${embed.url}/ready`)).status, 200);
  const emb = await postJson(`${embed.url}/embeddings?${API}`, { input: ["x"] });
  assert.is(emb.status, 200);
  assert.is(sim.last("/v1/embeddings").body.model, "BAAI/bge-small-en-v1.5");
});

test("health_is_static_and_ready_follows_the_engine", async ({ gw, sim }) => {
  assert.is(await fetch(`${gw.url}/health`).then((r) => r.text()), "OK");
  const ready = await fetch(`${gw.url}/ready`);
  assert.is(ready.status, 200);
  sim.models = [];
  await untilStatus(`${gw.url}/ready`, 503, 2500);
});

test.run();
