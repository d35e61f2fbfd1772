// Microsoft Entra ID tokens (issue 26) from a real local OpenID issuer: accepted when Entra would sign them for
// this gateway and a consumer is mapped to them (app id, role, object id; v1 and v2 issuers; the `openai`
// SDK's azureADTokenProvider), refused with 401 and `WWW-Authenticate: Bearer error="invalid_token"` when
// expired, for another audience, tenant or issuer, signed by a foreign key, unsigned or HS256; a valid token
// no consumer is mapped to is a 403. A rotated key is fetched; a flood of unknown key ids is not.
import { randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, SignJWT } from "jose";
import OpenAI, { AzureOpenAI } from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { OpenIdIssuer } from "../helpers/openid-issuer.ts";
import { EngineSim } from "../sim/engine.ts";

const TENANT = randomUUID();
const AUDIENCE = "api://azure-openai-proxy";
const APP = randomUUID();
const COOLDOWN_MS = 1000;

interface Ctx {
  sim: EngineSim;
  issuer: OpenIdIssuer;
  gw: RunningGateway;
  logs: Array<Record<string, any>>;
}
const test = suite<Ctx>("entra");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.issuer = await OpenIdIssuer.start(TENANT);
  const file = join(mkdtempSync(join(tmpdir(), "aop-entra-")), "gateway.yaml");
  writeFileSync(
    file,
    `entra:
  tenant_id: "${TENANT}"
  audiences: ["${AUDIENCE}"]
  openid_configuration: ${ctx.issuer.configuration}
  jwks_refetch_cooldown: ${COOLDOWN_MS}ms
consumers:
  - name: readers
    entra: { roles: ["Gateway.Read"] }
  - name: analytics
    entra: { app_ids: ["${APP}"] }
`,
  );
  ctx.logs = [];
  ctx.gw = await startGateway(ctx.sim.url, ["--config", file], ctx.logs);
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.issuer.close();
  await ctx.sim.close();
});

const valid = { aud: AUDIENCE, azp: APP, oid: randomUUID() };
const call = (gw: RunningGateway, token: string) =>
  fetch(`${gw.url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
  });

test("a_valid_token_maps_to_its_consumer", async ({ gw, issuer, logs }) => {
  const res = await call(gw, await issuer.token(valid));
  assert.is(res.status, 200);
  const v1 = await issuer.token({ aud: AUDIENCE, appid: APP }, { issuer: `https://sts.windows.net/${TENANT}/` });
  assert.is((await call(gw, v1)).status, 200, "a v1 token (appid, sts.windows.net issuer)");
  const byRole = await issuer.token({ aud: AUDIENCE, azp: randomUUID(), roles: ["Gateway.Read"] });
  assert.is((await call(gw, byRole)).status, 200, "a role maps too");
  await new Promise((resolve) => setImmediate(resolve));
  const consumers = logs.filter((l) => l.msg === "request").map((l) => l.consumer);
  assert.ok(consumers.includes("analytics") && consumers.includes("readers"));
});

test("the_application_decides_before_a_role_listed_earlier_in_the_file", async ({ gw, issuer }) => {
  // `readers` comes first in the file and lists a role the token carries; its application is `analytics`'s.
  const token = await issuer.token({ aud: AUDIENCE, azp: APP, roles: ["Gateway.Read"] });
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const created = await fetch(`${gw.url}/openai/v1/responses`, {
    method: "POST",
    headers,
    body: JSON.stringify({ model: "m", input: "mine" }),
  });
  assert.is(created.status, 200);
  const { id } = (await created.json()) as { id: string };
  const asReader = await issuer.token({ aud: AUDIENCE, azp: randomUUID(), roles: ["Gateway.Read"] });
  const read = await fetch(`${gw.url}/openai/v1/responses/${id}`, { headers: { authorization: `Bearer ${asReader}` } });
  assert.is(read.status, 404, "a reader does not see what the application stored");
  const asApp = await issuer.token({ aud: AUDIENCE, azp: APP });
  assert.is(
    (await fetch(`${gw.url}/openai/v1/responses/${id}`, { headers: { authorization: `Bearer ${asApp}` } })).status,
    200,
  );
});

test("the_openai_sdks_token_provider_works", async ({ gw, issuer }) => {
  const client = new AzureOpenAI({
    endpoint: gw.url,
    apiVersion: "2025-04-01-preview",
    azureADTokenProvider: () => issuer.token(valid),
    maxRetries: 0,
  });
  const answer = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }] });
  assert.ok(answer.choices[0]!.message.content);
});

test("what_is_refused_with_401_invalid_token", async ({ gw, issuer, sim }) => {
  sim.reset();
  const foreign = await generateKeyPair("RS256");
  const now = Math.floor(Date.now() / 1000);
  const cases: Record<string, string> = {
    expired: await issuer.token(valid, { expiresIn: now - 600 }),
    "another audience": await issuer.token({ ...valid, aud: "https://cognitiveservices.azure.com" }),
    "another tenant": await issuer.token({ ...valid, tid: randomUUID() }),
    "another issuer": await issuer.token(valid, { issuer: `https://login.microsoftonline.com/${randomUUID()}/v2.0` }),
    "a foreign signature": await new SignJWT({ ...valid, tid: TENANT })
      .setProtectedHeader({ alg: "RS256", kid: issuer.keys[0]!.kid })
      .setIssuer(issuer.issuer)
      .setExpirationTime("1h")
      .sign(foreign.privateKey),
    "alg none": `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(
      JSON.stringify({ ...valid, tid: TENANT, iss: issuer.issuer, exp: now + 3600 }),
    ).toString("base64url")}.`,
    HS256: await new SignJWT({ ...valid, tid: TENANT })
      .setProtectedHeader({ alg: "HS256", kid: issuer.keys[0]!.kid })
      .setIssuer(issuer.issuer)
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("a shared secret of thirty-two bytes")),
  };
  for (const [what, token] of Object.entries(cases)) {
    const res = await call(gw, token);
    assert.is(res.status, 401, what);
    assert.is(res.headers.get("www-authenticate"), 'Bearer error="invalid_token"', what);
    const body = await res.text();
    assert.not.ok(body.includes(token.slice(0, 40)), `${what}: the token is not echoed`);
  }
  assert.is(sim.requests.filter((r) => r.method === "POST").length, 0, "nothing reached the engine");
});

test("a_valid_token_no_consumer_is_mapped_to_is_a_403", async ({ gw, issuer }) => {
  const res = await call(gw, await issuer.token({ aud: AUDIENCE, azp: randomUUID() }));
  assert.is(res.status, 403);
  const client = new OpenAI({
    baseURL: `${gw.url}/openai/v1`,
    apiKey: await issuer.token({ aud: AUDIENCE }),
    maxRetries: 0,
  });
  const err = await client.models.list().catch((e: unknown) => e);
  assert.instance(err, OpenAI.PermissionDeniedError);
});

test("a_rotated_key_is_fetched_and_a_flood_of_unknown_kids_is_not", async ({ gw, issuer }) => {
  await call(gw, await issuer.token(valid)); // the keys are known
  await new Promise((resolve) => setTimeout(resolve, COOLDOWN_MS + 50)); // the refetch cooldown has passed
  const fetchesBefore = issuer.jwksFetches;
  const rotated = await issuer.rotate();
  assert.is((await call(gw, await issuer.token(valid, { key: rotated }))).status, 200, "the new key was fetched");
  assert.is(issuer.jwksFetches, fetchesBefore + 1);
  const flood = await Promise.all(
    Array.from(
      { length: 50 },
      async (_, i) => (await call(gw, await issuer.token(valid, { kid: `unknown-${i}` }))).status,
    ),
  );
  assert.ok(flood.every((status) => status === 401));
  assert.is(issuer.jwksFetches, fetchesBefore + 1, "within the cooldown, no unknown kid fetches the keys again");
});

test.run();
