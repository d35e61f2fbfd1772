// The pin-and-verify logic of scripts/specs.ts on fixtures of its own: a tiny spec with its own hash,
// served from a folder and from a loopback URL. Needs neither ../shared nor the network (the real
// pinned specs are checked by `npm run generate:check`, in CI).
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ensureSpecs, readManifest, type PinnedSpec } from "../../../scripts/specs.ts";

const SPEC = JSON.stringify({ openapi: "3.1.0", info: { title: "fixture", version: "1" }, paths: {} });
const SHA = createHash("sha256").update(SPEC).digest("hex");

interface Ctx {
  dir: string;
  server: Server;
  url: string;
}
const test = suite<Ctx>("specs");
test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "specs-test-"));
  ctx.server = createServer((req, res) => (req.url === "/fixture.json" ? res.end(SPEC) : res.writeHead(404).end()));
  await new Promise<void>((resolve) => ctx.server.listen(0, "127.0.0.1", resolve));
  ctx.url = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}`;
});
test.after((ctx) => {
  ctx.server.close();
  rmSync(ctx.dir, { recursive: true, force: true });
});

const pin = (ctx: Ctx, overrides: Partial<PinnedSpec> = {}): PinnedSpec => ({
  name: "fixture",
  file: "fixture/openapi.json",
  repo: "example/specs",
  commit: "0".repeat(40),
  path: "openapi.json",
  url: `${ctx.url}/fixture.json`,
  sha256: SHA,
  ...overrides,
});
/** A fresh specs folder and cache for one case. */
const folders = (ctx: Ctx, name: string) => ({
  specsDir: join(ctx.dir, name, "specs"),
  cache: join(ctx.dir, name, "cache"),
});

test("verifies_a_spec_from_the_specs_folder", async (ctx) => {
  const { specsDir, cache } = folders(ctx, "folder");
  mkdirSync(join(specsDir, "fixture"), { recursive: true });
  writeFileSync(join(specsDir, "fixture", "openapi.json"), SPEC);
  const paths = await ensureSpecs([pin(ctx, { url: "http://127.0.0.1:9/unused" })], specsDir, cache);
  assert.is(readFileSync(paths.fixture!, "utf8"), SPEC);
});

test("falls_back_to_the_pinned_url", async (ctx) => {
  const { specsDir, cache } = folders(ctx, "url");
  const paths = await ensureSpecs([pin(ctx)], specsDir, cache);
  assert.is(readFileSync(paths.fixture!, "utf8"), SPEC);
});

test("a_wrong_sha256_fails_naming_the_file", async (ctx) => {
  const { specsDir, cache } = folders(ctx, "hash");
  const err = await ensureSpecs([pin(ctx, { sha256: "0".repeat(64) })], specsDir, cache).catch((e: Error) => e);
  assert.instance(err, Error);
  assert.match((err as Error).message, /sha256 mismatch for fixture\/openapi\.json \(fixture\)/);
  assert.match((err as Error).message, /manifest: 0{64}\n\s+actual:\s+[0-9a-f]{64}/);
});

test("an_unreachable_source_names_the_file_and_the_url", async (ctx) => {
  const { specsDir, cache } = folders(ctx, "down");
  const err = await ensureSpecs([pin(ctx, { url: `${ctx.url}/missing.json` })], specsDir, cache).catch((e: Error) => e);
  assert.match((err as Error).message, /fixture\/openapi\.json: .*missing\.json answered HTTP 404/);
});

test("the_manifest_pins_every_spec_by_commit_and_hash", () => {
  const specs = readManifest();
  assert.equal(specs.map((s) => s.name).sort(), ["azure-2025-04-01", "azure-2025-05-01", "openai"]);
  for (const s of specs) {
    assert.match(s.commit, /^[0-9a-f]{40}$/);
    assert.match(s.sha256, /^[0-9a-f]{64}$/);
    assert.ok(s.url.includes(s.commit), `${s.name}: the URL names the pinned commit`);
  }
});

test.run();
