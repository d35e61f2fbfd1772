// The router's choice, table by table: least-loaded, a continuation's replica, a prefix held, a new prefix
// placed by rendezvous, saturation and overflow, a replica gone and back, a replica added, retries, and
// the table's bound.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { EngineLoad } from "../../../../src/core/routing/engine-load.ts";
import { hashString, type RoutingFacts } from "../../../../src/core/routing/prefix.ts";
import { type RouteCandidate, Router, rendezvous } from "../../../../src/core/routing/router.ts";

interface Fake extends RouteCandidate {
  inFlight: number;
  isIn: boolean;
  engineLoad: EngineLoad | undefined;
}
const replica = (label: string, inFlight = 0, isIn = true): Fake => ({
  label,
  labelHash: hashString(label),
  inFlight,
  isIn,
  engineLoad: undefined,
});
const queue = (waiting: number, kvUsage = 0.1): EngineLoad => ({
  engine: "vllm",
  waiting,
  running: 1,
  kvUsage,
  cachedPromptTokens: undefined,
  promptTokens: undefined,
});
/** A prompt of `blocks` whole blocks that starts with `system` (each block 256 characters). */
const prompt = (system: string, user = "a question"): RoutingFacts => ({
  prompt: [system.padEnd(1024 * 4, "."), "user", user.padEnd(512, "?")],
});
const fleet = () => [
  replica("10.0.0.1:8000"),
  replica("10.0.0.2:8000"),
  replica("10.0.0.3:8000"),
  replica("10.0.0.4:8000"),
];
const labelOf = (choice: { replica: RouteCandidate } | undefined) => choice?.replica.label;

const test = suite("router");

test("least_loaded_takes_the_fewest_in_flight_and_rotates_ties", () => {
  const router = new Router<Fake>({ policy: "least-loaded" });
  assert.is(router.readsFacts, false, "callers need not build a prompt's facts for it");
  assert.is(new Router<Fake>({ policy: "prefix" }).readsFacts, true);
  const replicas = [replica("a:1", 2), replica("b:1", 1), replica("c:1", 1)];
  const seen = new Set<string | undefined>();
  for (let i = 0; i < 4; i++) {
    const choice = router.choose(replicas, prompt("same"));
    assert.is(choice?.reason, "least_loaded");
    seen.add(labelOf(choice));
  }
  assert.equal([...seen].sort(), ["b:1", "c:1"], "ties rotate; the busier one is never chosen");
  replicas[0]!.isIn = false;
  replicas[1]!.isIn = false;
  replicas[2]!.isIn = false;
  assert.is(labelOf(router.choose(replicas, undefined)), "b:1", "none in rotation: all of them, least loaded");
});

test("a_prompt_goes_back_to_the_replica_that_took_it", () => {
  const router = new Router<Fake>({ policy: "prefix" });
  const replicas = fleet();
  const first = router.choose(replicas, prompt("system A"));
  assert.is(first?.reason, "prefix");
  first!.replica.inFlight += 2; // still busy with it: within the slack
  for (let i = 0; i < 5; i++) {
    const again = router.choose(replicas, prompt("system A", `question ${i}`));
    assert.is(labelOf(again), labelOf(first), `turn ${i}`);
    assert.is(again?.reason, "prefix");
  }
});

test("new_prefixes_are_placed_by_rendezvous_the_same_in_every_process", () => {
  const one = new Router<Fake>({ policy: "prefix" });
  const two = new Router<Fake>({ policy: "prefix" });
  const counts = new Map<string, number>();
  for (let p = 0; p < 200; p++) {
    const facts = prompt(`system prompt number ${p}`);
    const a = labelOf(one.choose(fleet(), facts))!;
    const b = labelOf(two.choose([...fleet()].reverse(), facts));
    assert.is(a, b, `prefix ${p}: two processes, replicas listed in another order`);
    counts.set(a, (counts.get(a) ?? 0) + 1);
  }
  assert.is(counts.size, 4);
  for (const [label, n] of counts) assert.ok(n > 25 && n < 75, `${label} took ${n} of 200 prefixes`);
});

test("a_replica_leaving_moves_only_its_own_prefixes_and_a_new_one_takes_a_fair_share", () => {
  const keys = Array.from({ length: 400 }, (_, i) => hashString(`prefix ${i}`));
  const four = fleet();
  const before = keys.map((k) => rendezvous(four, k)[0]!.label);
  const three = four.filter((r) => r.label !== "10.0.0.2:8000");
  const after = keys.map((k) => rendezvous(three, k)[0]!.label);
  keys.forEach((_, i) => {
    if (before[i] !== "10.0.0.2:8000") assert.is(after[i], before[i], `prefix ${i} moved though its replica stayed`);
  });
  const five = [...four, replica("10.0.0.5:8000")];
  const grown = keys.map((k) => rendezvous(five, k)[0]!.label);
  const moved = grown.filter((label, i) => label !== before[i]);
  assert.ok(
    moved.every((label) => label === "10.0.0.5:8000"),
    "prefixes move only to the new replica",
  );
  assert.ok(moved.length > 40 && moved.length < 120, `${moved.length} of 400 moved to the fifth replica`);
});

test("a_saturated_preferred_replica_overflows_to_the_least_loaded_and_the_prefix_then_has_two_homes", () => {
  const router = new Router<Fake>({ policy: "prefix", slack: 4 });
  const replicas = fleet();
  const home = router.choose(replicas, prompt("hot"))!.replica;
  home.inFlight = 5; // more than the least busy (0) + slack
  const spill = router.choose(replicas, prompt("hot", "another"));
  assert.is(spill?.reason, "overflow");
  assert.is.not(labelOf(spill), home.label);
  spill!.replica.inFlight = 1;
  const next = router.choose(replicas, prompt("hot", "a third"));
  assert.is(labelOf(next), spill!.replica.label, "the overflow replica holds it now, and is the less busy holder");
  assert.is(next?.reason, "prefix");
});

test("an_engine_queue_or_a_full_kv_cache_saturates_a_replica", () => {
  const router = new Router<Fake>({ policy: "prefix", queueLimit: 4, kvLimit: 0.95 });
  const replicas = fleet();
  const home = router.choose(replicas, prompt("queued"))!.replica;
  home.engineLoad = queue(3);
  assert.is(labelOf(router.choose(replicas, prompt("queued"))), home.label, "3 waiting: under the limit");
  home.engineLoad = queue(4);
  assert.is(router.choose(replicas, prompt("queued"))?.reason, "overflow");
  home.engineLoad = queue(0, 0.97);
  const other = router.choose(replicas, prompt("queued"));
  assert.is(other?.reason, "prefix", "the overflow replica holds the prefix too");
  assert.is.not(labelOf(other), home.label);
});

test("a_continuation_goes_to_the_previous_turns_replica_unless_it_is_saturated_or_out", () => {
  const router = new Router<Fake>({ policy: "prefix", slack: 4 });
  const replicas = fleet();
  const facts = { ...prompt("a conversation"), previousReplica: "10.0.0.3:8000" };
  assert.equal(
    [labelOf(router.choose(replicas, facts)), router.choose(replicas, facts)?.reason],
    ["10.0.0.3:8000", "affinity"],
  );
  replicas[2]!.inFlight = 4;
  assert.is(router.choose(replicas, facts)?.reason, "affinity", "busier by the slack: still warm");
  replicas[2]!.inFlight = 5;
  assert.is.not(router.choose(replicas, facts)?.reason, "affinity");
  replicas[2]!.inFlight = 0;
  replicas[2]!.isIn = false;
  assert.is.not(labelOf(router.choose(replicas, facts)), "10.0.0.3:8000", "a replica out of rotation is not preferred");
  assert.is(router.choose(replicas, { ...facts, previousReplica: "gone:1" })?.reason, "prefix", "an unknown label");
});

test("a_holder_gone_leaves_its_prefixes_to_rendezvous_and_gets_them_back_when_it_returns", () => {
  const router = new Router<Fake>({ policy: "prefix" });
  const replicas = fleet();
  const home = router.choose(replicas, prompt("comes and goes"))!.replica;
  (home as Fake).isIn = false;
  const meanwhile = router.choose(replicas, prompt("comes and goes"))!;
  assert.is.not(meanwhile.replica.label, home.label);
  (home as Fake).isIn = true;
  const back = router.choose(replicas, prompt("comes and goes"))!;
  assert.is(back.reason, "prefix");
  assert.ok([home.label, meanwhile.replica.label].includes(back.replica.label), "one of the two that hold it");
});

test("prompt_cache_key_places_prompts_that_share_no_text", () => {
  const router = new Router<Fake>({ policy: "prefix" });
  const labels = new Set(
    Array.from({ length: 20 }, (_, i) =>
      labelOf(router.choose(fleet(), { ...prompt(`text ${i}`), cacheKey: "tenant-7" })),
    ),
  );
  assert.is(labels.size, 1);
});

test("no_prompt_short_prompts_and_retries_go_by_load", () => {
  const router = new Router<Fake>({ policy: "prefix" });
  const replicas = [replica("a:1", 3), replica("b:1", 0)];
  assert.equal(
    [labelOf(router.choose(replicas, undefined)), router.choose(replicas, undefined)?.reason],
    ["b:1", "least_loaded"],
  );
  assert.is(router.choose(replicas, { prompt: ["hi"] })?.reason, "least_loaded", "shorter than a block");
  const retry = router.choose(replicas, prompt("x"), new Set([replicas[1]!]));
  assert.equal([labelOf(retry), retry?.reason], ["a:1", "retry"]);
  assert.is(router.choose(replicas, undefined, new Set(replicas)), undefined, "every replica tried");
});

test("the_table_stays_within_its_bound_whatever_the_traffic", () => {
  const router = new Router<Fake>({ policy: "prefix", tableBlocks: 1000 });
  for (let i = 0; i < 500; i++) router.choose(fleet(), prompt(`unique ${i}`));
  assert.ok(router.remembered <= 1000, `${router.remembered} blocks remembered`);
  assert.ok(router.remembered > 800, `${router.remembered} blocks remembered: the trim keeps the most recent ~90 %`);
});

test.run();
