// chooseReplica with a preferred replica (a continuation's): the warm one while it is in and not much
// busier than the least busy, else the least busy, as without a preference.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AFFINITY_SLACK, chooseReplica, type Replica } from "../../../src/core/deployments/replicas.ts";

const replica = (host: string, inFlight: number, state = "ready") =>
  ({ upstream: { baseUrl: `http://${host}/v1` }, readiness: { last: { state } }, inFlight }) as unknown as Replica;
const host = (r: Replica | undefined) => new URL(r!.upstream.baseUrl).host;

const test = suite("replica-affinity");

test("the_warm_replica_wins_a_tie_and_a_small_lead", () => {
  const replicas = [replica("a:1", 0), replica("b:1", 0)];
  for (let turn = 0; turn < 4; turn++) assert.is(host(chooseReplica(replicas, new Set(), turn, "b:1")), "b:1");
  replicas[1]!.inFlight = AFFINITY_SLACK;
  assert.is(host(chooseReplica(replicas, new Set(), 0, "b:1")), "b:1", "busier by the slack: still warm");
});

test("a_much_busier_or_absent_warm_replica_loses_to_the_least_busy", () => {
  const busy = [replica("a:1", 0), replica("b:1", AFFINITY_SLACK + 1)];
  assert.is(host(chooseReplica(busy, new Set(), 0, "b:1")), "a:1");
  const out = [replica("a:1", 3), replica("b:1", 0, "unreachable")];
  assert.is(host(chooseReplica(out, new Set(), 0, "b:1")), "a:1", "a replica out of rotation is not preferred");
  const tried = [replica("a:1", 3), replica("b:1", 0)];
  assert.is(host(chooseReplica(tried, new Set([tried[1]!]), 0, "b:1")), "a:1", "nor one that just failed");
  assert.is(host(chooseReplica(tried, new Set(), 0, "gone:1")), "b:1", "an unknown label is no preference");
});

test.run();
