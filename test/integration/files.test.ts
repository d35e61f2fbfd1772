// The Files API kept by the gateway (issue 39, part): the `openai` SDK uploads (multipart, streamed to
// --files), lists, reads, downloads and deletes files under /openai/v1, /openai?api-version= and /v1; a file
// is its uploader's (another key gets 404s); purpose, expiry and size are checked with the API's errors.
import OpenAI, { AzureOpenAI, toFile } from "openai";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startGateway, type RunningGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

interface Ctx {
  sim: EngineSim;
  gw: RunningGateway;
  dir: string;
}
const test = suite<Ctx>("files");
const KEYS = { TEAM_A_KEY: "team-a-key-0123456789", TEAM_B_KEY: "team-b-key-0123456789" };
const LINES = [1, 2, 3]
  .map((i) =>
    JSON.stringify({
      custom_id: `req-${i}`,
      method: "POST",
      url: "/v1/chat/completions",
      body: { model: "chat", messages: [{ role: "user", content: `Question ${i}` }] },
    }),
  )
  .join("\n");

test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
  ctx.dir = mkdtempSync(join(tmpdir(), "files-"));
  const file = join(ctx.dir, "deployments.yaml");
  writeFileSync(
    file,
    `deployments:\n  - { name: chat, url: ${ctx.sim.url} }\nconsumers:\n  - { name: team-a, keys_env: [TEAM_A_KEY] }\n  - { name: team-b, keys_env: [TEAM_B_KEY] }\n`,
  );
  ctx.gw = await startGateway(
    "http://127.0.0.1:9",
    ["--config", file, "--files", `file:${join(ctx.dir, "files")}`, "--file-size-limit", "64kb"],
    undefined,
    KEYS,
  );
});
test.after(async (ctx) => {
  await ctx.gw.close();
  await ctx.sim.close();
});

const openai = (gw: RunningGateway, key = KEYS.TEAM_A_KEY) =>
  new OpenAI({ baseURL: `${gw.url}/openai/v1`, apiKey: key, maxRetries: 0 });

test("upload_list_retrieve_download_and_delete_with_the_sdk", async ({ gw, dir }) => {
  const client = openai(gw);
  const uploaded = await client.files.create({
    file: await toFile(Buffer.from(LINES), "batch.jsonl"),
    purpose: "batch",
  });
  assert.match(uploaded.id, /^file-[0-9a-f]{48}$/);
  assert.equal(
    [uploaded.object, uploaded.bytes, uploaded.filename, uploaded.purpose, uploaded.status],
    ["file", Buffer.byteLength(LINES), "batch.jsonl", "batch", "processed"],
  );
  assert.ok(readdirSync(join(dir, "files")).includes(uploaded.id), "the bytes are in --files");
  const plain = await client.files.create({
    file: await toFile(Buffer.from("notes"), "notes.txt"),
    purpose: "user_data",
    expires_after: { anchor: "created_at", seconds: 3600 },
  });
  assert.is(plain.expires_at, plain.created_at + 3600);

  const listed = await client.files.list();
  assert.equal(
    listed.data.map((f) => f.id),
    [plain.id, uploaded.id],
    "newest first",
  );
  assert.equal(
    (await client.files.list({ purpose: "batch" })).data.map((f) => f.id),
    [uploaded.id],
  );
  assert.equal(
    (await client.files.list({ order: "asc", limit: 1 })).data.map((f) => f.id),
    [uploaded.id],
  );
  assert.is((await client.files.retrieve(uploaded.id)).filename, "batch.jsonl");
  assert.is(await (await client.files.content(uploaded.id)).text(), LINES);

  // Through the other dialects too.
  const azure = new AzureOpenAI({ endpoint: gw.url, apiKey: KEYS.TEAM_A_KEY, apiVersion: "2025-04-01-preview" });
  assert.is((await azure.files.retrieve(uploaded.id)).id, uploaded.id);
  const v1 = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: KEYS.TEAM_A_KEY, maxRetries: 0 });
  assert.is((await v1.files.list()).data.length, 2);

  const deleted = await client.files.delete(uploaded.id);
  assert.equal([deleted.id, deleted.deleted], [uploaded.id, true]);
  assert.not.ok(readdirSync(join(dir, "files")).includes(uploaded.id), "and its bytes");
  const gone = await client.files.retrieve(uploaded.id).catch((e: unknown) => e);
  assert.instance(gone, OpenAI.NotFoundError);
  await client.files.delete(plain.id);
});

test("a_file_is_its_uploaders", async ({ gw }) => {
  const mine = await openai(gw).files.create({ file: await toFile(Buffer.from("x"), "a.txt"), purpose: "user_data" });
  const other = openai(gw, KEYS.TEAM_B_KEY);
  for (const attempt of [
    () => other.files.retrieve(mine.id),
    () => other.files.content(mine.id),
    () => other.files.delete(mine.id),
  ])
    assert.instance(await attempt().catch((e: unknown) => e), OpenAI.NotFoundError);
  assert.equal((await other.files.list()).data, []);
  assert.is((await openai(gw).files.retrieve(mine.id)).id, mine.id, "still there for its owner");
  await openai(gw).files.delete(mine.id);
});

test("purpose_expiry_and_size_are_checked", async ({ gw, dir }) => {
  const client = openai(gw);
  const cases: Array<[() => Promise<unknown>, number, string]> = [
    [
      async () => client.files.create({ file: await toFile(Buffer.from("x"), "a.txt"), purpose: "fine-tune" }),
      400,
      "purpose",
    ],
    [
      async () =>
        client.files.create({
          file: await toFile(Buffer.from("x"), "a.txt"),
          purpose: "batch",
          expires_after: { anchor: "created_at", seconds: 60 },
        }),
      400,
      "expires_after",
    ],
    [
      async () => client.files.create({ file: await toFile(Buffer.alloc(100_000), "big.jsonl"), purpose: "batch" }),
      413,
      "file",
    ],
  ];
  for (const [attempt, status, param] of cases) {
    const err = (await attempt().catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    assert.instance(err, OpenAI.APIError);
    assert.is(err.status, status, err.message);
    assert.is((err.error as any).param, param);
  }
  const json = await fetch(`${gw.url}/openai/v1/files`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": KEYS.TEAM_A_KEY },
    body: "{}",
  });
  assert.is(json.status, 400);
  assert.equal((await client.files.list()).data, [], "nothing refused was kept");
  assert.equal(readdirSync(join(dir, "files", ".incoming")), [], "nor left half-written");
});

test.run();
