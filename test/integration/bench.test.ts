// `npm run bench` as one command from a clone: a short run of every case and target must finish,
// answer every request without error through every target, and write its report.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const test = suite("bench");
const run = promisify(execFile);

interface Report {
  rows: Array<{ case: string; target: string; rps: number; errors: number; cpuMsPerRequest?: number }>;
  held: {
    streams: number;
    errors: number;
    directErrors: number;
    rows: Array<{ target: string; errors: number; peakRssMb: number }>;
  };
}

test("a_short_run_covers_every_case_and_target_and_writes_its_report", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-"));
  const { stdout } = await run(
    "npm",
    [
      "run",
      "-s",
      "bench",
      "--",
      "--seconds",
      "0.2",
      "--rounds",
      "1",
      "--held",
      "20",
      "--held-chunks",
      "10",
      "--held-gap",
      "20",
      "--out",
      out,
    ],
    { timeout: 120_000 },
  );
  assert.match(stdout, /\| chat, c=64 \| gateway \|/);
  const report = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as Report;
  const targets = new Set(report.rows.map((r) => r.target));
  for (const name of ["direct", "gateway", "node-ref", "koa-ref"])
    assert.ok(targets.has(name), `target ${name} measured`);
  assert.is(new Set(report.rows.map((r) => r.case)).size, 14);
  assert.ok(targets.has("gateway-limited"), "the limited consumer measured");
  assert.ok(targets.has("gateway-keyed"), "the engine key's redaction measured");
  if (process.env.CI) assert.ok(targets.has("gateway-limited-redis"), "and on Redis, which CI installs");
  for (const row of report.rows) {
    assert.is(row.errors, 0, `${row.case} via ${row.target}: no errors`);
    assert.ok(row.rps > 0, `${row.case} via ${row.target}: answered`);
    if (row.target !== "direct")
      assert.ok((row.cpuMsPerRequest ?? 0) > 0, `${row.case} via ${row.target}: CPU measured`);
  }
  assert.equal(
    { streams: report.held.streams, errors: report.held.errors, directErrors: report.held.directErrors },
    { streams: 20, errors: 0, directErrors: 0 },
  );
  assert.equal(
    report.held.rows.map((r) => r.target),
    ["gateway", "node-ref", "koa-ref"],
  );
  for (const row of report.held.rows) {
    assert.is(row.errors, 0, `held streams through ${row.target}: no errors`);
    assert.ok(row.peakRssMb > 20, `${row.target}'s RSS was sampled`);
  }
  assert.match(
    readFileSync(join(out, "latest.md"), "utf8"),
    /^Run \S+ at commit [0-9a-f]{7,}( \+ uncommitted changes)? on .+ \(\d+ cores\)/,
    "the table says when, where and on what code it was measured",
  );
});

test("a_short_routing_run_replays_each_workload_against_each_policy_and_writes_its_report", async () => {
  const out = mkdtempSync(join(tmpdir(), "bench-routing-"));
  const args = [
    "run",
    "-s",
    "bench",
    "--",
    "--routing",
    "--routing-seconds",
    "1",
    "--routing-rate",
    "20",
    "--out",
    out,
  ];
  const { stdout } = await run("npm", args, { timeout: 120_000 });
  assert.match(stdout, /prefix router: [\d.]+ µs of CPU per request/);
  const report = JSON.parse(readFileSync(join(out, "routing.json"), "utf8")) as {
    routerMicros: number;
    rows: Array<{
      workload: string;
      policy: string;
      requests: number;
      failures: number;
      hitRate: number;
      shares: number[];
    }>;
  };
  assert.equal(
    report.rows.map((r) => `${r.workload} ${r.policy}`),
    [
      "shared least-loaded",
      "shared prefix",
      "multi-turn least-loaded",
      "multi-turn prefix",
      "unique least-loaded",
      "unique prefix",
    ],
  );
  for (const row of report.rows) {
    assert.ok(row.requests >= 16, `${row.workload} ${row.policy}: ${row.requests} requests`);
    assert.is(row.failures, 0, `${row.workload} ${row.policy}`);
    assert.is(row.shares.length, 4);
  }
  const multiTurn = report.rows.find((r) => r.workload === "multi-turn" && r.policy === "prefix")!;
  assert.ok(multiTurn.hitRate > 0.5, `a conversation's later turns find their history: ${multiTurn.hitRate}`);
  assert.is(report.rows.find((r) => r.workload === "unique" && r.policy === "prefix")!.hitRate, 0);
  assert.ok(report.routerMicros > 0);
  assert.match(readFileSync(join(out, "routing.md"), "utf8"), /\| shared \| prefix \| \d+ % \|/);
});

test("a_wrong_option_is_named_with_the_usage_not_a_stack_trace", async () => {
  const script = join(import.meta.dirname, "../../scripts/bench/index.ts");
  for (const [args, message] of [
    [["--bogus"], /^bench: Unknown option '--bogus'/],
    [["--rounds", "x"], /^bench: --rounds must be a number > 0, got 'x'/],
    [["--routing", "--routing-rate", "0"], /^bench: --routing-rate must be a number > 0, got '0'/],
    [
      ["--only", "chat-c2"],
      /^bench: unknown case chat-c2; cases: chat-c1, chat-c16, chat-c64, stream-c1, stream-c64, embed-c16, chat-aoai-c64, chat-v1-c64, responses-c16, responses-nostore-c16, chat-limited-c16, chat-keyed-c16, stream-keyed-c64, stream-aoai-c64$/m,
    ],
  ] as const) {
    const failed = await run(process.execPath, ["--import", "tsx", script, ...args]).then(
      () => undefined,
      (err: { code: number; stderr: string }) => err,
    );
    assert.ok(failed, `${args.join(" ")} fails`);
    assert.is(failed.code, 2);
    assert.match(failed.stderr, message);
    assert.not.match(failed.stderr, /\n\s+at /, "no stack trace");
  }
  const { stdout } = await run(process.execPath, ["--import", "tsx", script, "--help"]);
  assert.match(stdout, /^npm run bench \[-- --seconds/);
});

test.run();
