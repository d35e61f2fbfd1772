// Prometheus metrics (prom-client), one registry per gateway. Label values are bounded: routes are the
// matched route templates without their Azure base prefix, errors are gateway error codes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface RequestRecord {
  route: string;
  status: number;
  stream: boolean;
  durationMs: number;
  upstreamMs?: number;
  firstTokenMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  clientAborted: boolean;
  errorCode?: string;
  /** The failure was the engine's (unreachable, timed out, 5xx, broken answer or stream). */
  upstreamError: boolean;
}

export interface GatewayMetrics {
  registry: Registry;
  streamsInFlight: Gauge;
  observe(record: RequestRecord): void;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics(): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({ name: "gateway_requests_total", help: "Requests answered, by route and status", labelNames: ["route", "status", "stream"], registers: [registry] });
  const duration = new Histogram({ name: "gateway_request_duration_seconds", help: "Time from request to the end of the response (streams: to the last event)", labelNames: ["route", "status"], buckets: LATENCY_BUCKETS, registers: [registry] });
  const upstream = new Histogram({ name: "gateway_upstream_duration_seconds", help: "Time from the upstream call to its response headers", labelNames: ["route"], buckets: LATENCY_BUCKETS, registers: [registry] });
  const firstToken = new Histogram({ name: "gateway_time_to_first_token_seconds", help: "Time from request to the first streamed token", buckets: LATENCY_BUCKETS, registers: [registry] });
  const streamsInFlight = new Gauge({ name: "gateway_streams_in_flight", help: "Streams being sent now", registers: [registry] });
  const upstreamErrors = new Counter({ name: "gateway_upstream_errors_total", help: "Engine failures, by gateway error code", labelNames: ["code"], registers: [registry] });
  const aborts = new Counter({ name: "gateway_client_aborts_total", help: "Requests whose client went away before the answer ended", labelNames: ["route"], registers: [registry] });
  const tokens = new Counter({ name: "gateway_tokens_total", help: "Tokens reported by the engine's usage", labelNames: ["kind"], registers: [registry] });

  return {
    registry,
    streamsInFlight,
    observe(r) {
      const status = r.clientAborted ? "499" : String(r.status);
      requests.inc({ route: r.route, status, stream: String(r.stream) });
      duration.observe({ route: r.route, status }, r.durationMs / 1000);
      if (r.upstreamMs !== undefined) upstream.observe({ route: r.route }, r.upstreamMs / 1000);
      if (r.firstTokenMs !== undefined) firstToken.observe(r.firstTokenMs / 1000);
      if (r.upstreamError && r.errorCode) upstreamErrors.inc({ code: r.errorCode });
      if (r.clientAborted) aborts.inc({ route: r.route });
      if (r.promptTokens) tokens.inc({ kind: "prompt" }, r.promptTokens);
      if (r.completionTokens) tokens.inc({ kind: "completion" }, r.completionTokens);
    },
  };
}
