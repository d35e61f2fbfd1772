// Prometheus metrics, one registry per gateway: prom-client's registry, exposition and process metrics;
// the per-request series in metric-series.ts. Label values are bounded: routes are the matched route
// templates without their Azure base prefix, errors are gateway error codes.
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { EngineLoad } from "../routing/engine-load.ts";
import { type CounterChild, CounterSeries, type HistogramChild, HistogramSeries } from "./metric-series.ts";
import { RecentErrors } from "./recent-errors.ts";

export interface RequestRecord {
  route: string;
  /** A deployments file's deployment (undefined for the flags' one engine). */
  deployment?: string;
  /** The replica (host:port) a deployment of several engines sent it to. */
  replica?: string;
  /** An engine call went out for it (it reached a deployment). */
  engineAsked?: boolean;
  /** How a stream ended: every event sent, failed part-way (the engine's or the gateway's failure after the
   * headers), or its client left. Undefined for answers that are not streams. */
  streamOutcome?: "completed" | "failed" | "client_aborted";
  status: number;
  stream: boolean;
  durationMs: number;
  upstreamMs?: number;
  firstTokenMs?: number;
  /** The consumer (core/consumers); undefined: anonymous. */
  consumer?: string;
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  reasoningTokens?: number;
  clientAborted: boolean;
  errorCode?: string;
  /** The failure was the engine's (unreachable, timed out, 5xx, broken answer or stream). */
  upstreamError: boolean;
}

export interface GatewayMetrics {
  registry: Registry;
  streamsInFlight: Gauge;
  /** 1 while a deployment's engine is ready, 0 while it loads or is away, by deployment (set in app.ts). */
  engineReady: Gauge<"deployment">;
  /** 1 while a replica of a deployment is in the balancer's rotation, 0 while it is out. */
  replicaReady: Gauge<"deployment" | "replica">;
  /** Replicas chosen by a deployment's router, by why (core/routing/router.ts). */
  routeDecisions: CounterSeries;
  /** A replica's engine load as last read from its /metrics; the series is absent while unknown. */
  engineLoad(deployment: string, replica: string, load: EngineLoad | undefined): void;
  /** Requests let through unlimited because the store failed (fail_closed: false). */
  limitsUnenforced: Counter;
  /** --config read again: applied, or refused for a mistake (the running config stays). */
  configReloads: Counter<"result">;
  /** A request that waited for a slot (--max-concurrent: queue "gateway"; max_concurrent: the deployment). */
  queueWaited(queue: string, waitedMs: number): void;
  /** Where the queues' lengths are read from when scraped. */
  watchQueues(lengths: () => Iterable<[queue: string, waiting: number]>): void;
  /** A background run of this process ended. */
  backgroundRunEnded(outcome: string): void;
  /** Where this process's background runs are read from when scraped. */
  watchRuns(now: () => { running: number; idleMs: number }): void;
  /** A Responses WebSocket connection closed, why, after how many responses. */
  webSocketClosed(reason: string, responses: number): void;
  /** Where the open Responses WebSocket connections are counted from when scraped. */
  watchWebSockets(open: () => number): void;
  /** Errors answered in the last minutes, for the status page. */
  recentErrors: RecentErrors;
  observe(record: RequestRecord): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics(clock: () => number = Date.now): GatewayMetrics {
  const recentErrors = new RecentErrors(clock);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new CounterSeries(
    "gateway_requests_total",
    "Requests answered, by route and status",
    ["route", "status", "stream"],
    registry,
  );
  const duration = new HistogramSeries(
    "gateway_request_duration_seconds",
    "Time from request to the end of the response (streams: to the last event)",
    ["route", "status"],
    LATENCY_BUCKETS,
    registry,
  );
  const upstream = new HistogramSeries(
    "gateway_upstream_duration_seconds",
    "Time from the upstream call to its response headers",
    ["route"],
    LATENCY_BUCKETS,
    registry,
  );
  const firstToken = new HistogramSeries(
    "gateway_time_to_first_token_seconds",
    "Time from request to the first streamed token, by deployment (default: the flags' engine) and replica (empty for a single engine)",
    ["deployment", "replica"],
    LATENCY_BUCKETS,
    registry,
  );
  const deploymentDuration = new HistogramSeries(
    "gateway_deployment_request_duration_seconds",
    "Time from request to the end of the response (streams: to the last event), for requests that reached an engine, by deployment",
    ["deployment", "stream"],
    LATENCY_BUCKETS,
    registry,
  );
  const streams = new CounterSeries(
    "gateway_streams_total",
    "Streams answered, by deployment and how they ended: completed, failed (part-way, after the headers), client_aborted",
    ["deployment", "outcome"],
    registry,
  );
  const queueWait = new HistogramSeries(
    "gateway_queue_wait_seconds",
    "Time a request waited for a slot before it was let through, refused at --queue-timeout, or its client left; by queue (gateway: --max-concurrent; else the deployment's max_concurrent)",
    ["queue"],
    LATENCY_BUCKETS,
    registry,
  );
  const runsEnded = new CounterSeries(
    "gateway_background_runs_total",
    "Background responses this process ran, by how they ended: completed, incomplete, failed, cancelled, stopped (the gateway stopped first)",
    ["outcome"],
    registry,
  );
  let runs: () => { running: number; idleMs: number } = () => ({ running: 0, idleMs: 0 });
  new Gauge({
    name: "gateway_background_runs_running",
    help: "Background responses this process is running now",
    registers: [registry],
    collect() {
      this.set(runs().running);
    },
  });
  new Gauge({
    name: "gateway_background_runs_idle_seconds",
    help: "The longest any running background response of this process has gone without writing an event (0: none running); a run that stops writing is stalled",
    registers: [registry],
    collect() {
      this.set(runs().idleMs / 1000);
    },
  });
  const socketCloses = new CounterSeries(
    "gateway_websocket_closes_total",
    "Responses WebSocket connections closed, by reason: client, age_limit, shutdown, ping_timeout, too_large, error",
    ["reason"],
    registry,
  );
  const socketResponses = new HistogramSeries(
    "gateway_websocket_responses_per_connection",
    "Responses created on a WebSocket connection, observed when it closes",
    [],
    [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registry,
  ).labels();
  let openSockets: () => number = () => 0;
  new Gauge({
    name: "gateway_websocket_connections",
    help: "Responses WebSocket connections open now (each response.create on them is also counted as a request)",
    registers: [registry],
    collect() {
      this.set(openSockets());
    },
  });
  let queueLengths: () => Iterable<[string, number]> = () => [];
  new Gauge({
    name: "gateway_queue_waiting",
    help: "Requests waiting for a slot now, by queue (gateway: --max-concurrent; else the deployment's max_concurrent)",
    labelNames: ["queue"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [queue, waiting] of queueLengths()) this.labels(queue).set(waiting);
    },
  });
  const streamsInFlight = new Gauge({
    name: "gateway_streams_in_flight",
    help: "Streams being sent now",
    registers: [registry],
  });
  const engineReady = new Gauge({
    name: "gateway_engine_ready",
    help: "1 while the deployment's engine is ready (lists a model), 0 while it loads or is away",
    labelNames: ["deployment"],
    registers: [registry],
  });
  const upstreamErrors = new CounterSeries(
    "gateway_upstream_errors_total",
    "Engine failures, by gateway error code",
    ["code"],
    registry,
  );
  const aborts = new CounterSeries(
    "gateway_client_aborts_total",
    "Requests whose client went away before the answer ended",
    ["route"],
    registry,
  );
  const replicaReady = new Gauge({
    name: "gateway_replica_ready",
    help: "1 while a deployment's replica takes requests, 0 while it is taken out",
    labelNames: ["deployment", "replica"],
    registers: [registry],
  });
  const routeDecisions = new CounterSeries(
    "gateway_route_decisions_total",
    "Replicas chosen for engine calls, by deployment and reason (prefix, overflow, affinity, least_loaded, retry)",
    ["deployment", "reason"],
    registry,
  );
  const engineGauge = (name: string, help: string) =>
    new Gauge({ name, help, labelNames: ["deployment", "replica"], registers: [registry] });
  const engineWaiting = engineGauge(
    "gateway_replica_engine_waiting",
    "Requests waiting in a replica's engine queue, as its /metrics last said",
  );
  const engineRunning = engineGauge(
    "gateway_replica_engine_running",
    "Requests a replica's engine is running, as its /metrics last said",
  );
  const engineKv = engineGauge(
    "gateway_replica_engine_kv_usage",
    "A replica's KV-cache use (0 to 1), as its /metrics last said",
  );
  const engineHits = engineGauge(
    "gateway_replica_prefix_cache_hit_ratio",
    "Prompt tokens a replica's engine took from its prefix cache, over all it looked up, since it started",
  );
  const setOrRemove = (gauge: Gauge<"deployment" | "replica">, d: string, r: string, value: number | undefined) =>
    value === undefined ? gauge.remove(d, r) : gauge.labels(d, r).set(value);
  const byDeployment = new CounterSeries(
    "gateway_deployment_requests_total",
    "Requests answered, by deployments-file deployment and status",
    ["deployment", "status"],
    registry,
  );
  const tokens = new CounterSeries(
    "gateway_tokens_total",
    "Tokens in the engine's usage, by consumer, deployment and kind (input, output; cached of input, reasoning of output)",
    ["consumer", "deployment", "kind"],
    registry,
  );
  const consumerRequests = new CounterSeries(
    "gateway_consumer_requests_total",
    "Requests answered, by consumer, deployment and status",
    ["consumer", "deployment", "status"],
    registry,
  );
  const limitsUnenforced = new Counter({
    name: "gateway_limits_unenforced_total",
    help: "Requests let through without their limits because the store failed (fail_closed: false)",
    registers: [registry],
  });
  const configReloads = new Counter({
    name: "gateway_config_reloads_total",
    help: "Times the --config file was read again, by result: applied, or refused for a mistake",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // The children a request updates, looked up once per (route, status, stream) rather than per metric;
  // the engine-facing ones only once a request of that kind has used them.
  interface Outcome {
    route: string;
    requests: CounterChild;
    duration: HistogramChild;
    upstream?: HistogramChild;
    aborts?: CounterChild;
  }
  const outcomes = new Map<string, Outcome>();
  const outcomeOf = (route: string, status: string, stream: string): Outcome => {
    const key = `${route} ${status} ${stream}`;
    let outcome = outcomes.get(key);
    if (!outcome)
      outcomes.set(
        key,
        (outcome = {
          route,
          requests: requests.labels(route, status, stream),
          duration: duration.labels(route, status),
        }),
      );
    return outcome;
  };

  return {
    registry,
    streamsInFlight,
    engineReady,
    replicaReady,
    routeDecisions,
    engineLoad(d, r, load) {
      setOrRemove(engineWaiting, d, r, load?.waiting);
      setOrRemove(engineRunning, d, r, load?.running);
      setOrRemove(engineKv, d, r, load?.kvUsage);
      const hits = load?.cachedPromptTokens;
      const queries = load?.promptTokens;
      setOrRemove(engineHits, d, r, hits !== undefined && queries ? hits / queries : undefined);
    },
    limitsUnenforced,
    configReloads,
    recentErrors,
    queueWaited: (queue, ms) => queueWait.labels(queue).observe(ms / 1000),
    watchQueues(lengths) {
      queueLengths = lengths;
    },
    backgroundRunEnded: (outcome) => runsEnded.labels(outcome).inc(),
    webSocketClosed(reason, responses) {
      socketCloses.labels(reason).inc();
      socketResponses.observe(responses);
    },
    watchWebSockets(open) {
      openSockets = open;
    },
    watchRuns(now) {
      runs = now;
    },
    observe(r) {
      if (r.errorCode) recentErrors.add(r.clientAborted ? 499 : r.status, r.errorCode);
      const outcome = outcomeOf(r.route, r.clientAborted ? "499" : String(r.status), r.stream ? "true" : "false");
      outcome.requests.inc();
      outcome.duration.observe(r.durationMs / 1000);
      if (r.upstreamMs !== undefined)
        (outcome.upstream ??= upstream.labels(outcome.route)).observe(r.upstreamMs / 1000);
      const deployment = r.deployment ?? "default";
      if (r.firstTokenMs !== undefined) firstToken.labels(deployment, r.replica ?? "").observe(r.firstTokenMs / 1000);
      if (r.engineAsked)
        deploymentDuration.labels(deployment, r.stream ? "true" : "false").observe(r.durationMs / 1000);
      if (r.streamOutcome) streams.labels(deployment, r.streamOutcome).inc();
      if (r.upstreamError && r.errorCode) upstreamErrors.labels(r.errorCode).inc();
      if (r.clientAborted) (outcome.aborts ??= aborts.labels(outcome.route)).inc();
      if (r.deployment !== undefined)
        byDeployment.labels(r.deployment, r.clientAborted ? "499" : String(r.status)).inc();
      const consumer = r.consumer ?? "anonymous";
      if (r.consumer !== undefined)
        consumerRequests.labels(consumer, deployment, r.clientAborted ? "499" : String(r.status)).inc();
      if (r.promptTokens) tokens.labels(consumer, deployment, "input").inc(r.promptTokens);
      if (r.completionTokens) tokens.labels(consumer, deployment, "output").inc(r.completionTokens);
      if (r.cachedTokens) tokens.labels(consumer, deployment, "cached").inc(r.cachedTokens);
      if (r.reasoningTokens) tokens.labels(consumer, deployment, "reasoning").inc(r.reasoningTokens);
    },
  };
}
