// Every --store backend keeps the same contract: stored responses and their items, ownership, background
// runs (events in order, cancel refusing the runner's next write), conversations and their items; a Redis
// that goes away is a 503 for the call, and one that comes back serves again. Redis is a real redis-server.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { GatewayError } from "../../src/core/errors.ts";
import { openStore } from "../../src/core/state/open-store.ts";
import type { StateStore } from "../../src/core/state/store.ts";
import { redisAvailable, startRedis, type RunningRedis } from "../helpers/redis.ts";

const TTL = 60_000;
const withRedis = redisAvailable();
let redis: RunningRedis | undefined;

const backends: Array<[string, () => Promise<StateStore>]> = [
  ["memory", async () => openStore({ kind: "memory" }, () => {})],
  [
    "sqlite",
    async () => openStore({ kind: "sqlite", path: join(mkdtempSync(join(tmpdir(), "aop-store-")), "s.db") }, () => {}),
  ],
];
if (withRedis)
  backends.push([
    "redis",
    async () => {
      redis ??= await startRedis();
      const store = openStore({ kind: "redis", url: redis.url }, () => {});
      await store.ready();
      return store;
    },
  ]);

const response = (id: string, status = "completed") => ({
  id,
  object: "response",
  status,
  background: status !== "completed",
  output: [{ id: `msg_${id}`, type: "message", role: "assistant", content: [{ type: "output_text", text: id }] }],
});
const entry = (id: string, owner = "alice", status = "completed") => ({
  id,
  owner,
  response: response(id, status),
  input: [{ id: `in_${id}`, type: "message", role: "user", content: "hi" }],
  createdAt: Date.now(),
});

for (const [name, open] of backends) {
  const test = suite<{ store: StateStore }>(`state-store:${name}`);
  test.before(async (ctx) => {
    ctx.store = await open();
  });
  test.after(async ({ store }) => {
    await store.close();
  });

  test("responses_are_the_owners_and_their_items_referable", async ({ store }) => {
    await store.putResponse(entry("r1"), TTL);
    assert.equal((await store.getResponse("r1", "alice"))?.response.output, response("r1").output);
    assert.is(await store.getResponse("r1", "bob"), undefined, "another owner finds nothing");
    assert.is((await store.getResponse("r1", "alice"))?.replica, undefined, "no replica recorded");
    await store.putResponse({ ...entry("r1b"), replica: "10.0.0.7:8000" }, TTL);
    assert.is((await store.getResponse("r1b", "alice"))?.replica, "10.0.0.7:8000", "the replica that answered");
    assert.equal(await store.item("msg_r1", "alice"), response("r1").output[0]);
    assert.is(await store.item("msg_r1", "bob"), undefined);
    assert.is(await store.deleteResponse("r1", "bob"), false);
    assert.is(await store.deleteResponse("r1", "alice"), true);
    assert.is(await store.getResponse("r1", "alice"), undefined);
    assert.is(await store.item("msg_r1", "alice"), undefined, "a deleted response's items go with it");
    assert.is(await store.deleteResponse("r1", "alice"), false);
  });

  test("an_expired_response_is_gone", async ({ store }) => {
    await store.putResponse(entry("r2"), 1);
    const until = Date.now() + 2000;
    while ((await store.getResponse("r2", "alice")) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.is(await store.getResponse("r2", "alice"), undefined);
  });

  test("files_are_the_owners_listed_oldest_first_and_gone_when_they_expire_or_are_deleted", async ({ store }) => {
    const now = Date.now();
    const file = (id: string, owner: string, createdAt: number, expiresAt = now + TTL) => ({
      id,
      owner,
      filename: `${id}.jsonl`,
      purpose: "batch",
      bytes: 10,
      createdAt,
      expiresAt,
    });
    await store.putFile(file("file-b", "alice", now + 1));
    await store.putFile(file("file-a", "alice", now));
    await store.putFile(file("file-c", "bob", now));
    await store.putFile(file("file-old", "alice", now - 10, now - 1)); // already expired
    assert.equal(
      (await store.listFiles("alice")).map((f) => f.id),
      ["file-a", "file-b"],
    );
    assert.is((await store.getFile("file-a", "alice"))?.filename, "file-a.jsonl");
    assert.is(await store.getFile("file-a", "bob"), undefined, "another's is absent");
    assert.is(await store.getFile("file-old", "alice"), undefined, "an expired one is gone");
    assert.is(await store.deleteFile("file-a", "bob"), false);
    assert.is(await store.deleteFile("file-a", "alice"), true);
    assert.is(await store.deleteFile("file-a", "alice"), false);
    assert.equal(
      (await store.listFiles("alice")).map((f) => f.id),
      ["file-b"],
    );
    assert.equal(
      (await store.listFiles("bob")).map((f) => f.id),
      ["file-c"],
    );
  });

  test("a_run_records_its_events_and_a_cancel_refuses_its_next_write", async ({ store }) => {
    await store.putResponse(entry("run1", "alice", "queued"), TTL);
    const frames = ["a", "b", "c"].map((frame, seq) => ({ seq, frame }));
    assert.is(await store.appendEvents("run1", frames.slice(0, 2), TTL), true);
    assert.is(await store.updateRun(entry("run1", "alice", "in_progress"), TTL), true);
    assert.is(await store.appendEvents("run1", frames.slice(2), TTL), true);
    assert.equal(await store.events("run1", -1), frames);
    assert.equal(await store.events("run1", 0), frames.slice(1));
    assert.equal(await store.events("run1", 2), []);
    assert.is(await store.cancelRun("run1", "bob", {}), undefined, "another owner cannot cancel");
    const cancelled = await store.cancelRun("run1", "alice", {});
    assert.is(cancelled?.response.status, "cancelled");
    assert.is(await store.appendEvents("run1", [{ seq: 3, frame: "d" }], TTL), false);
    assert.is(await store.updateRun(entry("run1", "alice", "completed"), TTL), false, "a cancelled run stays so");
    assert.is((await store.getResponse("run1", "alice"))?.response.status, "cancelled");
    assert.is((await store.cancelRun("run1", "alice", {}))?.response.status, "cancelled", "cancel is idempotent");
    assert.is(await store.deleteResponse("run1", "alice"), true);
    assert.equal(await store.events("run1", -1), [], "its events go with it");
  });

  test("a_finished_run_keeps_its_output_items_and_events", async ({ store }) => {
    await store.putResponse(entry("run2", "alice", "queued"), TTL);
    await store.appendEvents("run2", [{ seq: 0, frame: "x" }], TTL);
    assert.is(await store.updateRun(entry("run2", "alice", "completed"), TTL), true);
    assert.equal(await store.item("msg_run2", "alice"), response("run2").output[0]);
    assert.equal(await store.events("run2", -1), [{ seq: 0, frame: "x" }]);
    assert.is((await store.cancelRun("run2", "alice", {}))?.response.status, "completed", "nothing to cancel");
  });

  test("a_run_whose_lease_passed_is_ended_once_and_a_renewed_one_is_not", async ({ store }) => {
    const now = Date.now();
    const end = (found: { response: Record<string, unknown> }, seq: number) => ({
      response: { ...found.response, status: "failed" },
      frame: `failed at ${seq}`,
    });
    await store.putResponse({ ...entry("run3", "alice", "in_progress"), leaseUntil: now + 1_000 }, TTL);
    await store.appendEvents(
      "run3",
      [
        { seq: 0, frame: "a" },
        { seq: 1, frame: "b" },
      ],
      TTL,
    );
    assert.is((await store.getResponse("run3", "alice"))?.leaseUntil, now + 1_000);
    const live = await store.endAbandonedRun("run3", "alice", now, end);
    assert.is(live?.response.status, "in_progress", "its lease has not passed");
    await store.renewRuns(["run3"], now + 5_000);
    assert.is((await store.getResponse("run3", "alice"))?.leaseUntil, now + 5_000);
    assert.is((await store.endAbandonedRun("run3", "alice", now + 4_000, end))?.response.status, "in_progress");
    assert.is(await store.endAbandonedRun("run3", "bob", now + 10_000, end), undefined, "another owner's: not found");
    const ended = await store.endAbandonedRun("run3", "alice", now + 10_000, end);
    assert.is(ended?.response.status, "failed");
    assert.is((await store.getResponse("run3", "alice"))?.response.status, "failed");
    assert.equal(
      (await store.events("run3", -1)).map((e) => e.frame),
      ["a", "b", "failed at 2"],
    );
    await store.endAbandonedRun("run3", "alice", now + 20_000, end);
    assert.is((await store.events("run3", -1)).length, 3, "ended once");
    await store.renewRuns(["run3"], now + 60_000);
    assert.is((await store.getResponse("run3", "alice"))?.response.status, "failed", "an ended run is not renewed");
    // A run recorded without a lease (before leases existed) is never ended: nothing says its runner is gone.
    await store.putResponse(entry("run4", "alice", "in_progress"), TTL);
    assert.is((await store.endAbandonedRun("run4", "alice", now + 10_000, end))?.response.status, "in_progress");
  });

  test("conversations_keep_items_in_order_for_their_owner", async ({ store }) => {
    const item = (id: string) => ({ id, type: "message", role: "user", content: [{ type: "input_text", text: id }] });
    await store.createConversation(
      { id: "c1", owner: "alice", createdAt: 1000, metadata: { topic: "t" } },
      [item("i1"), item("i2")],
      TTL,
    );
    assert.equal(await store.getConversation("c1", "alice"), {
      id: "c1",
      owner: "alice",
      createdAt: 1000,
      metadata: { topic: "t" },
    });
    assert.is(await store.getConversation("c1", "bob"), undefined);
    assert.is(await store.addItems("c1", "bob", [item("x")], TTL), false);
    assert.is(await store.addItems("c1", "alice", [item("i3"), item("i4")], TTL), true);
    const ids = async (query: Parameters<StateStore["conversationItems"]>[2]) =>
      (await store.conversationItems("c1", "alice", query))?.data.map((i) => i.id);
    assert.equal(await ids({ limit: 10, order: "asc" }), ["i1", "i2", "i3", "i4"]);
    assert.equal(await ids({ limit: 2, order: "desc" }), ["i4", "i3"]);
    assert.equal(await ids({ limit: 2, order: "desc", after: "i3" }), ["i2", "i1"]);
    assert.is((await store.conversationItems("c1", "alice", { limit: 3, order: "asc" }))?.hasMore, true);
    assert.is(await store.conversationItems("c1", "bob", { limit: 3, order: "asc" }), undefined);
    assert.equal(await store.conversationItem("c1", "alice", "i2"), item("i2"));
    assert.is(await store.conversationItem("c1", "bob", "i2"), undefined);
    assert.is(await store.deleteConversationItem("c1", "alice", "i2"), true);
    assert.is(await store.deleteConversationItem("c1", "alice", "i2"), false);
    assert.equal(await ids({ limit: 10, order: "asc" }), ["i1", "i3", "i4"]);
    assert.equal((await store.updateConversation("c1", "alice", { topic: "u" }))?.metadata, { topic: "u" });
    assert.is(await store.updateConversation("c1", "bob", { topic: "v" }), undefined);
    assert.is(await store.deleteConversation("c1", "bob"), false);
    assert.is(await store.deleteConversation("c1", "alice"), true);
    assert.is(await store.getConversation("c1", "alice"), undefined);
    assert.is(await store.conversationItems("c1", "alice", { limit: 3, order: "asc" }), undefined);
  });

  test.run();
}

if (withRedis) {
  const test = suite("state-store:redis-down");
  test("a_redis_that_goes_away_is_a_503_and_one_that_comes_back_serves", async () => {
    const own = await startRedis();
    const failures: unknown[] = [];
    const store = openStore({ kind: "redis", url: own.url }, (err) => failures.push(err));
    await store.ready();
    await store.putResponse(entry("d1"), TTL);
    await own.stop();
    const err = await Promise.resolve(store.getResponse("d1", "alice")).catch((e: unknown) => e);
    assert.instance(err, GatewayError);
    assert.is((err as GatewayError).status, 503);
    assert.match((err as GatewayError).message, /state store \(redis\) is unavailable/);
    assert.ok(failures.length > 0, "the failure is reported (logged by the gateway)");
    await store.close();
  });
  test("a_redis_that_cannot_be_reached_at_start_says_so", async () => {
    const gone = await startRedis();
    await gone.stop();
    const store = openStore({ kind: "redis", url: gone.url }, () => {});
    const err = await store.ready().catch((e: Error) => e);
    assert.instance(err, Error);
    await store.close();
  });
  test.after(async () => {
    await redis?.stop();
  });
  test.run();
}

{
  const test = suite("state-store:sqlite-opened-by-several-processes");
  test("processes_that_open_a_new_file_at_once_all_start", async () => {
    // Workers, or a new pod beside the old one, open the file at the same moment: each waits for the other
    // (switching to WAL, creating tables, adding columns) instead of failing "database is locked".
    const { spawn } = await import("node:child_process");
    const opener = `import { openStore } from ${JSON.stringify(join(import.meta.dirname, "../../src/core/state/open-store.ts"))};
      const store = openStore({ kind: "sqlite", path: process.argv[1] }, () => {});
      await store.ready(); await store.close(); console.log("opened");`;
    for (let round = 0; round < 5; round++) {
      const path = join(mkdtempSync(join(tmpdir(), "aop-open-")), "s.db");
      const outcomes = await Promise.all(
        Array.from(
          { length: 4 },
          () =>
            new Promise<string>((resolve) => {
              const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", opener, path], {
                stdio: ["ignore", "pipe", "pipe"],
              });
              let out = "";
              child.stdout.on("data", (d) => (out += d));
              child.stderr.on("data", (d) => (out += d));
              child.on("exit", (code) => resolve(code === 0 ? out.trim() : `exit ${code}: ${out.slice(0, 300)}`));
            }),
        ),
      );
      assert.equal(outcomes, ["opened", "opened", "opened", "opened"], `round ${round}`);
    }
  });
  test.run();
}
