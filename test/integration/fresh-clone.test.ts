// A fresh clone of what is committed, in a folder with nothing beside it (no ../shared) and no engine:
// `npm ci` there, then the commands the README gives a new user. Catches what only shows outside
// this machine's layout: a bin that needs a build, tests that need ../shared or the network, a
// skipped end-to-end tier that reads as a pass.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { projectRoot } from "../../scripts/specs.ts";

const run = promisify(execFile);
interface Ctx {
  home: string;
  clone: string;
  env: NodeJS.ProcessEnv;
}
const test = suite<Ctx>("fresh-clone");

test.before(async (ctx) => {
  ctx.home = mkdtempSync(join(tmpdir(), "fresh-clone-"));
  ctx.clone = join(ctx.home, "azure-openai-proxy");
  // No engine, no CI flag, no specs folder: what a new user's shell has.
  const {
    CI: _ci,
    E2E_CHAT_UPSTREAM: _c,
    E2E_EMBED_UPSTREAM: _e,
    LLAMA_SERVER: _l,
    CHAT_MODEL: _m,
    EMBED_MODEL: _em,
    SPECS_DIR: _s,
    ...env
  } = process.env;
  ctx.env = env;
  await run("git", ["clone", "--quiet", projectRoot, ctx.clone]);
  await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], {
    cwd: ctx.clone,
    env: ctx.env,
    timeout: 240_000,
  });
});
test.after((ctx) => rmSync(ctx.home, { recursive: true, force: true }));

test("nothing_is_beside_the_clone", (ctx) => {
  assert.not.ok(existsSync(join(ctx.clone, "..", "shared")));
});

test("the_command_runs_straight_after_npm_ci", async (ctx) => {
  const help = await run("npx", ["azure-openai-proxy", "--help"], { cwd: ctx.clone, env: ctx.env });
  assert.match(help.stdout, /Usage: azure-openai-proxy \[options\]/);
  const version = await run("npx", ["azure-openai-proxy", "--version"], { cwd: ctx.clone, env: ctx.env });
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

test("the_spec_tests_need_neither_shared_nor_the_network", async (ctx) => {
  // The old tests fetched the pinned specs from GitHub when ../shared was absent: here (no internet but
  // the npm registry) that failed; the fixtures are loopback-only.
  const { stdout } = await run(
    process.execPath,
    ["--import", "tsx", "node_modules/uvu/bin.js", "test", "unit/scripts"],
    { cwd: ctx.clone, env: ctx.env },
  );
  assert.match(stdout, /Passed:\s+\d+/);
  assert.not.match(stdout, /FAIL/);
});

test("a_skipped_end_to_end_tier_says_so_last", async (ctx) => {
  const skipped = await run("npm", ["run", "-s", "test:e2e"], { cwd: ctx.clone, env: ctx.env });
  assert.match(skipped.stdout.trim().split("\n").at(-1)!, /^e2e: SKIPPED: nothing was tested/);
  const inCi = await run("npm", ["run", "-s", "test:e2e"], { cwd: ctx.clone, env: { ...ctx.env, CI: "1" } }).then(
    () => undefined,
    (err: { code: number; stdout: string }) => err,
  );
  assert.is(inCi?.code, 1);
  assert.match(inCi!.stdout.trim().split("\n").at(-1)!, /^e2e: FAILED: no engine/);
});

test.run();
