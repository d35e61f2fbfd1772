// The --config file read again without a restart (issue 26): on a Kubernetes ConfigMap swap (a symlink
// exchanged under the file), on a rename-write, and on SIGHUP (forwarded by the primary to every worker). A
// replaced key stops working at once and its successor works; limits change for the next request; a request
// in flight finishes under the config it started with; a file with a mistake is refused with one log line and
// the running config stays; engine changes are named as needing a restart.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { logged, startGateway } from "../helpers/gateway.ts";
import { startGatewayProcess } from "../helpers/gateway-process.ts";

/** A key of --api-key: the metrics are an operator's to read, never a consumer's. */
const OPERATOR_KEY = "operator-key-0123456789";
import { EngineSim } from "../sim/engine.ts";
import { TestClock } from "../helpers/clock.ts";

const digest = (key: string) => createHash("sha256").update(key).digest("hex");

const fileWith = (engineUrl: string, consumers: string) => `deployments:
  - name: chat
    url: ${engineUrl}
consumers:
${consumers}`;

const consumer = (name: string, key: string, limits = "") =>
  `  - name: ${name}\n    key_sha256: [${digest(key)}]\n${limits ? `    limits: ${limits}\n` : ""}`;

/** A directory laid out as the kubelet mounts a ConfigMap: gateway.yaml -> ..data/gateway.yaml, ..data -> a
 * timestamped directory; `swap` writes a new directory and exchanges the ..data link atomically. */
function configMap(text: string) {
  const dir = mkdtempSync(join(tmpdir(), "aop-configmap-"));
  let version = 0;
  const publish = (content: string) => {
    const target = `..${++version}`;
    mkdirSync(join(dir, target));
    writeFileSync(join(dir, target, "gateway.yaml"), content);
    symlinkSync(target, join(dir, "..data_tmp"));
    renameSync(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  publish(text);
  symlinkSync("..data/gateway.yaml", join(dir, "gateway.yaml"));
  return { file: join(dir, "gateway.yaml"), swap: publish };
}

/** Replaces a file the way editors and `kubectl cp` do: a new file renamed over the old one. */
function renameWrite(file: string, text: string) {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

const reloaded = (line: Record<string, any>) => line.msg?.startsWith("config reloaded");
const refused = (line: Record<string, any>) => line.msg === "config reload refused; the running config stays";

const chat = (url: string, key: string, extra: object = {}) =>
  fetch(`${url}/openai/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": key },
    body: JSON.stringify({ model: "chat", messages: [{ role: "user", content: "hi" }], ...extra }),
  });

/** A gateway reading its --config from a plain file (rewritten with renameWrite), and its log lines. */
async function gatewayWithFile(sim: EngineSim, text: string) {
  const file = join(mkdtempSync(join(tmpdir(), "aop-reload-")), "gateway.yaml");
  writeFileSync(file, text);
  const logs: Array<Record<string, any>> = [];
  // The limits' windows follow a test clock that stands mid-minute: no test straddles a window's end.
  return { file, logs, gw: await startGateway(sim.url, ["--config", file], logs, {}, new TestClock().now) };
}

const test = suite<{ sim: EngineSim }>("config-reload");
test.before(async (ctx) => {
  ctx.sim = await new EngineSim().start();
});
test.after(async (ctx) => {
  await ctx.sim.close();
});

test("a_configmap_swap_replaces_a_key_at_once", async ({ sim }) => {
  const map = configMap(fileWith(sim.url, consumer("team-a", "old-key-0123456789")));
  const logs: Array<Record<string, any>> = [];
  const gw = await startGateway(sim.url, ["--config", map.file], logs);
  try {
    assert.is((await chat(gw.url, "old-key-0123456789")).status, 200);
    assert.is((await chat(gw.url, "new-key-0123456789")).status, 401);
    map.swap(fileWith(sim.url, consumer("team-a", "new-key-0123456789")));
    const [line] = await logged(logs, reloaded);
    assert.is(line!.reason, "file changed");
    assert.is(line!.consumers, 1);
    assert.equal(line!.changed, { keysRotated: ["team-a"] }, "the reload says what changed, by name");
    assert.ok(logs.some((l) => l.msg === "config changes: keysRotated team-a"));
    assert.is((await chat(gw.url, "old-key-0123456789")).status, 401, "the removed key stops working");
    assert.is((await chat(gw.url, "new-key-0123456789")).status, 200);
    assert.not.ok(JSON.stringify(logs).includes("key-0123456789"), "no key in the log");
  } finally {
    await gw.close();
  }
});

test("a_file_with_a_mistake_is_refused_and_the_running_config_stays", async ({ sim }) => {
  const map = configMap(fileWith(sim.url, consumer("team-a", "a-key-0123456789")));
  const logs: Array<Record<string, any>> = [];
  const gw = await startGateway(sim.url, ["--config", map.file, "--api-key", OPERATOR_KEY], logs);
  try {
    map.swap(fileWith(sim.url, `  - name: team-a\n    key_sha256: [${digest("b-key-0123456789")}]\n    limts: {}\n`));
    const [line] = await logged(logs, refused);
    assert.match(line!.why, /gateway\.yaml:\d+/, "names the file and line");
    assert.match(line!.why, /limts/, "names the key");
    assert.is(logs.filter(reloaded).length, 0);
    assert.is((await chat(gw.url, "a-key-0123456789")).status, 200, "the running config stays");
    assert.is((await chat(gw.url, "b-key-0123456789")).status, 401);
    const metrics = await (await fetch(`${gw.url}/metrics`, { headers: { "api-key": OPERATOR_KEY } })).text();
    assert.match(metrics, /gateway_config_reloads_total\{result="refused"\} 1/);
    // Fixed, it applies.
    map.swap(fileWith(sim.url, consumer("team-a", "b-key-0123456789")));
    await logged(logs, reloaded);
    assert.is((await chat(gw.url, "b-key-0123456789")).status, 200);
  } finally {
    await gw.close();
  }
});

test("a_request_in_flight_finishes_under_the_config_it_started_with", async ({ sim }) => {
  const { file, logs, gw } = await gatewayWithFile(sim, fileWith(sim.url, consumer("team-a", "a-key-0123456789")));
  try {
    const streaming = await chat(gw.url, "a-key-0123456789", { stream: true, max_tokens: 30, sim_gap_ms: 20 });
    assert.is(streaming.status, 200);
    renameWrite(file, fileWith(sim.url, consumer("team-b", "b-key-0123456789")));
    await logged(logs, reloaded);
    assert.is((await chat(gw.url, "a-key-0123456789")).status, 401, "a removed consumer's key stops at once");
    const text = await streaming.text();
    assert.ok(text.trimEnd().endsWith("data: [DONE]"), "the stream in flight ran to its end");
    assert.is((await chat(gw.url, "b-key-0123456789")).status, 200);
  } finally {
    await gw.close();
  }
});

test("changed_limits_apply_to_the_next_request", async ({ sim }) => {
  const { file, logs, gw } = await gatewayWithFile(
    sim,
    fileWith(sim.url, consumer("team-a", "a-key-0123456789", "{ requests_per_minute: 1 }")),
  );
  try {
    assert.is((await chat(gw.url, "a-key-0123456789")).status, 200);
    const refusedRequest = await chat(gw.url, "a-key-0123456789");
    assert.is(refusedRequest.status, 429);
    renameWrite(file, fileWith(sim.url, consumer("team-a", "a-key-0123456789", "{ requests_per_minute: 5 }")));
    await logged(logs, reloaded);
    const admitted = await chat(gw.url, "a-key-0123456789");
    assert.is(admitted.status, 200);
    assert.is(admitted.headers.get("x-ratelimit-limit-requests"), "5");
  } finally {
    await gw.close();
  }
});

test("engine_changes_are_named_as_needing_a_restart", async ({ sim }) => {
  const other = await new EngineSim().start();
  const { file, logs, gw } = await gatewayWithFile(sim, fileWith(sim.url, consumer("team-a", "a-key-0123456789")));
  try {
    renameWrite(file, fileWith(other.url, consumer("team-a", "b-key-0123456789")));
    const [line] = await logged(logs, reloaded);
    assert.is(line!.level, 40, "a warning");
    assert.equal(line!.restartNeeded, ["'chat' changed"]);
    assert.is((await chat(gw.url, "b-key-0123456789")).status, 200, "the consumers part applies");
    assert.is(other.requests.length, 0, "the running engine stays until a restart");
  } finally {
    await gw.close();
    await other.close();
  }
});

test("sighup_reloads_every_worker_and_ends_nothing", async ({ sim }) => {
  const dir = mkdtempSync(join(tmpdir(), "aop-reload-"));
  const file = join(dir, "gateway.yaml");
  writeFileSync(file, fileWith(sim.url, consumer("team-a", "a-key-0123456789")));
  const gw = await startGatewayProcess(sim.port, ["--config", file, "--workers", "2", "--store", "memory:"]);
  try {
    // Both workers listening: each logs its URL.
    const workers = new Set<number>();
    await gw.logLine((l) => (l.url && workers.add(l.pid), workers.size === 2));
    gw.child.kill("SIGHUP");
    const pids = new Set<number>();
    await gw.logLine((l) => {
      if (l.msg === "config reloaded" && l.reason === "SIGHUP") pids.add(l.pid);
      return pids.size === 2;
    });
    assert.is(pids.size, 2, "each worker read the file again");
    assert.is((await fetch(`${gw.url}/health`)).status, 200, "SIGHUP ended nothing");
    assert.is((await chat(gw.url, "a-key-0123456789")).status, 200);
  } finally {
    await gw.stop();
  }
});

test.run();
