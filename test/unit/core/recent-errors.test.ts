// The status page's recent errors: counted by status and code in one-minute buckets, forgotten after fifteen
// minutes of the gateway's clock, most frequent first.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { RecentErrors } from "../../../src/core/observability/recent-errors.ts";

test("errors_are_counted_by_status_and_code_and_forgotten_after_the_window", () => {
  let now = Date.UTC(2026, 11, 8, 10, 0, 30);
  const recent = new RecentErrors(() => now);
  recent.add(404, "DeploymentNotFound");
  now += 60_000;
  recent.add(429, "TooManyRequests");
  recent.add(429, "TooManyRequests");
  recent.add(200, "UpstreamStreamError"); // a stream that failed after its headers
  assert.equal(
    recent.list().map((e) => [e.status, e.code, e.count]),
    [
      [429, "TooManyRequests", 2],
      [200, "UpstreamStreamError", 1],
      [404, "DeploymentNotFound", 1],
    ],
  );
  assert.is(recent.list()[0]!.lastAt, now);
  now += 14 * 60_000; // the first minute's bucket leaves the window
  assert.equal(
    recent.list().map((e) => e.code),
    ["TooManyRequests", "UpstreamStreamError"],
  );
  now += 60_000;
  recent.add(404, "DeploymentNotFound");
  assert.equal(
    recent.list().map((e) => [e.code, e.count]),
    [["DeploymentNotFound", 1]],
  );
});

test.run();
