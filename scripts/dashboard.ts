// Writes the Grafana dashboard (deploy/helm/azure-openai-proxy/monitoring/dashboard.json) from the panels
// below: `npm run dashboard`. test/deploy/monitoring.test.ts checks the file is what this writes, that each
// query names only series the gateway exports, and that promtool parses each one.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const DASHBOARD_FILE = join(import.meta.dirname, "../deploy/helm/azure-openai-proxy/monitoring/dashboard.json");

interface Panel {
  title: string;
  description: string;
  unit: string;
  /** PromQL, with Grafana's $deployment and $__rate_interval. */
  targets: Array<[legend: string, expr: string]>;
  stack?: boolean;
  max?: number;
}

const D = 'deployment=~"$deployment"';
const R = "$__rate_interval";
const quantiles = (series: string, by: string, where = D) =>
  (["0.5", "0.9", "0.99"] as const).map((q): [string, string] => [
    `p${Number(q) * 100} {{${by}}}`,
    `histogram_quantile(${q}, sum by (le, ${by}) (rate(${series}_bucket{${where}}[${R}])))`,
  ]);

/** Rows of panels, two to a row. */
const ROWS: Array<[row: string, panels: Panel[]]> = [
  [
    "Traffic",
    [
      {
        title: "Requests by deployment and status",
        description: "Answers per second of requests that named a deployment (gateway_deployment_requests_total).",
        unit: "reqps",
        stack: true,
        targets: [
          [
            "{{deployment}} {{status}}",
            `sum by (deployment, status) (rate(gateway_deployment_requests_total{${D}}[${R}]))`,
          ],
        ],
      },
      {
        title: "Errors",
        description:
          "Share of answers that failed on the gateway's side: 5xx, and streams that failed after their headers (sent as 200). Engine failures by code.",
        unit: "percentunit",
        targets: [
          [
            "error ratio",
            `((sum(rate(gateway_requests_total{status=~"5.."}[${R}])) or vector(0)) + (sum(rate(gateway_streams_total{outcome="failed"}[${R}])) or vector(0))) / sum(rate(gateway_requests_total[${R}]))`,
          ],
          ["engine {{code}} /s", `sum by (code) (rate(gateway_upstream_errors_total[${R}]))`],
        ],
      },
    ],
  ],
  [
    "Latency",
    [
      {
        title: "Request duration by deployment",
        description: "To the end of the response (a stream: its last event), for requests that reached an engine.",
        unit: "s",
        targets: quantiles("gateway_deployment_request_duration_seconds", "deployment"),
      },
      {
        title: "Time to first token by deployment",
        description: "From the request to the first streamed token.",
        unit: "s",
        targets: quantiles("gateway_time_to_first_token_seconds", "deployment"),
      },
    ],
  ],
  [
    "Streams and queues",
    [
      {
        title: "Streams in flight and how they end",
        description: "Streams being sent now (all pods), and streams ended per second by outcome.",
        unit: "short",
        targets: [
          ["in flight", "sum(gateway_streams_in_flight)"],
          ["{{outcome}} /s", `sum by (outcome) (rate(gateway_streams_total{${D}}[${R}]))`],
        ],
      },
      {
        title: "Admission queue",
        description:
          "Requests waiting for a slot now (--max-concurrent: gateway; a deployment's max_concurrent), and the 90th percentile of the wait of those that waited.",
        unit: "short",
        targets: [
          ["waiting {{queue}}", "sum by (queue) (gateway_queue_waiting)"],
          [
            "p90 wait (s) {{queue}}",
            `histogram_quantile(0.9, sum by (le, queue) (rate(gateway_queue_wait_seconds_bucket[${R}])))`,
          ],
        ],
      },
    ],
  ],
  [
    "Engines",
    [
      {
        title: "Replica and engine readiness",
        description:
          "1 while a replica is in rotation (on every pod), and while a deployment has an engine ready (on any pod).",
        unit: "short",
        max: 1,
        targets: [
          ["{{deployment}} {{replica}}", `min by (deployment, replica) (gateway_replica_ready{${D}})`],
          ["{{deployment}} (any engine)", `max by (deployment) (gateway_engine_ready{${D}})`],
        ],
      },
      {
        title: "Engine queue and batch",
        description: "Requests waiting in and run by each replica's engine, as its /metrics last said.",
        unit: "short",
        targets: [
          ["waiting {{deployment}} {{replica}}", `max by (deployment, replica) (gateway_replica_engine_waiting{${D}})`],
          ["running {{deployment}} {{replica}}", `max by (deployment, replica) (gateway_replica_engine_running{${D}})`],
        ],
      },
    ],
  ],
  [
    "Engine caches and routing",
    [
      {
        title: "KV cache use and prefix-cache hits",
        description:
          "Each replica's KV-cache use and the share of prompt tokens its engine took from its prefix cache.",
        unit: "percentunit",
        max: 1,
        targets: [
          ["KV {{deployment}} {{replica}}", `max by (deployment, replica) (gateway_replica_engine_kv_usage{${D}})`],
          [
            "hits {{deployment}} {{replica}}",
            `max by (deployment, replica) (gateway_replica_prefix_cache_hit_ratio{${D}})`,
          ],
        ],
      },
      {
        title: "Routing decisions",
        description: "Replicas chosen per second, by why (prefix, overflow, affinity, least_loaded, retry).",
        unit: "reqps",
        stack: true,
        targets: [
          [
            "{{deployment}} {{reason}}",
            `sum by (deployment, reason) (rate(gateway_route_decisions_total{${D}}[${R}]))`,
          ],
        ],
      },
    ],
  ],
  [
    "Consumers",
    [
      {
        title: "Tokens by consumer and kind",
        description: "Tokens per second in the engines' usage: input, output, and of those cached and reasoning.",
        unit: "short",
        stack: true,
        targets: [["{{consumer}} {{kind}}", `sum by (consumer, kind) (rate(gateway_tokens_total{${D}}[${R}]))`]],
      },
      {
        title: "429s by consumer",
        description: "Requests refused for a consumer's limits (or a deployment's) per second.",
        unit: "reqps",
        stack: true,
        targets: [
          ["{{consumer}}", `sum by (consumer) (rate(gateway_consumer_requests_total{status="429", ${D}}[${R}]))`],
        ],
      },
    ],
  ],
  [
    "Background responses and state",
    [
      {
        title: "Background responses",
        description: "Running now, the longest any has gone without writing (s), and how they end per second.",
        unit: "short",
        targets: [
          ["running", "sum(gateway_background_runs_running)"],
          ["longest idle (s)", "max(gateway_background_runs_idle_seconds)"],
          ["{{outcome}} /s", `sum by (outcome) (rate(gateway_background_runs_total[${R}]))`],
        ],
      },
      {
        title: "Limits unenforced",
        description: "Requests let through without their limits because the store failed (fail_closed: false).",
        unit: "reqps",
        targets: [["unenforced", `sum(rate(gateway_limits_unenforced_total[${R}]))`]],
      },
    ],
  ],
];

export function dashboard(): object {
  const panels: object[] = [];
  let id = 1;
  let y = 0;
  for (const [row, list] of ROWS) {
    panels.push({ type: "row", title: row, id: id++, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    list.forEach((p, i) => {
      panels.push({
        type: "timeseries",
        id: id++,
        title: p.title,
        description: p.description,
        datasource: { type: "prometheus", uid: "${datasource}" },
        gridPos: { h: 8, w: 12, x: i * 12, y },
        fieldConfig: {
          defaults: {
            unit: p.unit,
            ...(p.max === undefined ? {} : { min: 0, max: p.max }),
            custom: {
              drawStyle: "line",
              lineWidth: 1,
              fillOpacity: p.stack ? 30 : 0,
              stacking: { mode: p.stack ? "normal" : "none" },
            },
          },
          overrides: [],
        },
        options: { legend: { displayMode: "list", placement: "bottom" }, tooltip: { mode: "multi" } },
        targets: p.targets.map(([legendFormat, expr], t) => ({
          refId: String.fromCharCode(65 + t),
          datasource: { type: "prometheus", uid: "${datasource}" },
          expr,
          legendFormat,
        })),
      });
    });
    y += 8;
  }
  return {
    uid: "azure-openai-proxy",
    title: "azure-openai-proxy",
    description:
      "Requests, errors, latency, streams, queues, engines, consumers and background responses of the gateway (docs/operations.md).",
    tags: ["azure-openai-proxy"],
    timezone: "browser",
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: "30s",
    time: { from: "now-3h", to: "now" },
    templating: {
      list: [
        { name: "datasource", type: "datasource", query: "prometheus", label: "Data source", current: {} },
        {
          name: "deployment",
          type: "query",
          label: "Deployment",
          datasource: { type: "prometheus", uid: "${datasource}" },
          query: { query: "label_values(gateway_engine_ready, deployment)", refId: "deployments" },
          definition: "label_values(gateway_engine_ready, deployment)",
          includeAll: true,
          allValue: ".*",
          multi: true,
          current: { text: "All", value: "$__all" },
          refresh: 2,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

export const dashboardText = () => `${JSON.stringify(dashboard(), null, 2)}\n`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(DASHBOARD_FILE, dashboardText());
  console.log(`wrote ${DASHBOARD_FILE}`);
}
