// The dashboard and alert rules that ship in the chart (deploy/helm/azure-openai-proxy/monitoring): the
// rules pass promtool's check and its unit tests against recorded series (test/deploy/alerts.test.yaml);
// the dashboard is what scripts/dashboard.ts writes; every query of both names only series the gateway
// exports, and promtool parses each dashboard query. promtool is Debian's `prometheus` package: skipped
// locally without it, required in CI.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { DASHBOARD_FILE, dashboardText } from "../../scripts/dashboard.ts";
import { startGateway } from "../helpers/gateway.ts";
import { EngineSim } from "../sim/engine.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const ALERTS_FILE = join(ROOT, "deploy/helm/azure-openai-proxy/monitoring/alerts.yaml");
const test = suite("monitoring");

function findPromtool(): string | undefined {
  const bin = process.env.PROMTOOL ?? "promtool";
  if (spawnSync(bin, ["--version"], { stdio: "ignore" }).status === 0) return bin;
  if (process.env.CI || process.env.REQUIRE_PROMTOOL)
    throw new Error("promtool is not installed: CI installs it (apt-get install prometheus)");
  console.log("  (promtool unavailable here: the rule checks are skipped locally, CI requires them)");
  return undefined;
}
const promtool = findPromtool();

const promtoolRun = (args: string[], cwd = ROOT) => {
  const out = spawnSync(promtool!, args, { cwd, encoding: "utf8", timeout: 60_000 });
  return { status: out.status, text: `${out.stdout}${out.stderr}` };
};

interface Dashboard {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ definition?: string }> };
}
const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, "utf8")) as Dashboard;
const dashboardQueries = [
  ...dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))),
  ...dashboard.templating.list.flatMap((v) => (v.definition ? [{ where: "variable", expr: v.definition }] : [])),
];
const rules = (
  parse(readFileSync(ALERTS_FILE, "utf8")) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> }
).groups.flatMap((g) => g.rules);

test("the_dashboard_file_is_what_scripts_dashboard_writes", () => {
  assert.ok(readFileSync(DASHBOARD_FILE, "utf8") === dashboardText(), "run npm run dashboard");
});

test("every_query_names_only_series_the_gateway_exports", async () => {
  const sim = await new EngineSim().start();
  const gw = await startGateway(sim.url);
  try {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const exported = new Map([...text.matchAll(/^# TYPE (gateway_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const known = (name: string) => {
      if (exported.has(name)) return true;
      const base = name.replace(/_(bucket|sum|count)$/, "");
      return base !== name && exported.get(base) === "histogram";
    };
    const unknown = [
      ...dashboardQueries.map((q) => ({ where: `dashboard: ${q.where}`, expr: q.expr })),
      ...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ].flatMap(({ where, expr }) =>
      [...expr.matchAll(/\bgateway_\w+/g)]
        .map((m) => m[0])
        .filter((n) => !known(n))
        .map((n) => `${where}: ${n}`),
    );
    assert.equal(unknown, []);
    // And the dashboard shows what an operator plots (issue 36's list).
    const all = dashboardQueries.map((q) => q.expr).join("\n");
    for (const series of [
      "gateway_deployment_requests_total",
      "gateway_upstream_errors_total",
      "gateway_deployment_request_duration_seconds_bucket",
      "gateway_time_to_first_token_seconds_bucket",
      "gateway_streams_in_flight",
      "gateway_replica_ready",
      "gateway_engine_ready",
      "gateway_replica_engine_waiting",
      "gateway_replica_engine_kv_usage",
      "gateway_tokens_total",
      'gateway_consumer_requests_total{status="429"',
      "gateway_queue_wait_seconds_bucket",
    ])
      assert.ok(all.includes(series), `the dashboard plots ${series}`);
  } finally {
    await gw.close();
    await sim.close();
  }
});

if (promtool) {
  test("the_alert_rules_pass_promtool_check_and_their_unit_tests", () => {
    const check = promtoolRun(["check", "rules", ALERTS_FILE]);
    assert.is(check.status, 0, check.text);
    assert.match(check.text, /SUCCESS: 6 rules found/);
    const unit = promtoolRun(["test", "rules", "alerts.test.yaml"], join(ROOT, "test/deploy"));
    assert.is(unit.status, 0, unit.text);
  });

  test("promtool_parses_every_dashboard_query", () => {
    // Each query as a recording rule, Grafana's variables given values, so promtool parses it.
    const file = join(mkdtempSync(join(tmpdir(), "dashboard-queries-")), "queries.yaml");
    const expr = (q: string) =>
      q
        .replaceAll("$__rate_interval", "5m")
        .replaceAll("$deployment", ".*")
        .replace(/^label_values\((\w+), \w+\)$/, "$1");
    writeFileSync(
      file,
      JSON.stringify({
        groups: [
          {
            name: "dashboard",
            rules: dashboardQueries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: expr(q.expr) })),
          },
        ],
      }),
    );
    const check = promtoolRun(["check", "rules", file]);
    assert.is(check.status, 0, check.text);
    assert.match(check.text, new RegExp(`SUCCESS: ${dashboardQueries.length} rules found`));
  });
}

test.run();
