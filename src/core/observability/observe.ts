// One log line and one metrics record per request, written when the response is closed (so streams are
// measured to their last event), plus Server-Timing on non-streaming answers. No prompt or completion
// text and no credentials are logged unless --log-bodies is set.
import type { Context, Next } from "koa";
import type { Logger } from "pino";
import { queryParam } from "../http/query.ts";
import { exchangeOf } from "../pipeline/exchange.ts";
import type { GatewayMetrics, RequestRecord } from "./metrics.ts";

const UPSTREAM_CODES = new Set([
  "UpstreamUnavailable",
  "UpstreamTimeout",
  "UpstreamInvalidResponse",
  "UpstreamStreamError",
  "UpstreamError",
]);

/** Routes an orchestrator or a scraper calls on a schedule: logged like any request, but never counted as
 * requests or engine errors (a /ready 503 while an engine loads is the probe's answer, not a failure). */
const PROBE_ROUTES = new Set(["/health", "/ready", "/metrics", "/metrics/engine", "/status", "/status/page"]);

/** `/api/models/chat/completions` -> `/chat/completions`; unmatched paths share one label. */
export function routeLabel(matched: string | undefined, prefixes: readonly string[]): string {
  if (!matched) return "unmatched";
  for (const prefix of prefixes) if (prefix && matched.startsWith(`${prefix}/`)) return matched.slice(prefix.length);
  return matched;
}

/** The route label of a request (see app.ts: the matched route, or the route the path would have matched
 * for requests answered before routing: 401, 405, 413, 415, 429). */
export type RouteOf = (ctx: Context) => string;

export function observe(log: Logger, metrics: GatewayMetrics, routeOf: RouteOf, logBodies: boolean) {
  return async function observeRequest(ctx: Context, next: Next): Promise<void> {
    const started = performance.now();
    ctx.res.on("close", () => {
      // once per response; on() spares once()'s wrapper
      const exchange = exchangeOf(ctx);
      if (exchange.heldCount) exchange.heldCount.inFlight--;
      const outcome = exchange.streamOutcome;
      const aborted = clientAborted(ctx);
      // A client that left before its answer was sent has none: 499 in the log line as in the metrics
      // (Koa's status would still be the 404 it starts with).
      const status = aborted && !ctx.res.headersSent ? 499 : ctx.status;
      const errorCode = outcome?.error?.code ?? exchange.error?.code;
      const usage = outcome?.usage ?? exchange.usage;
      const upstreamMs = exchange.upstreamMs;
      // One object for the metrics and the log line: plain fields, undefined where unknown (metrics skip
      // them, pino leaves them out of the line); times rounded to 10 µs.
      const line: RequestRecord & Record<string, unknown> = {
        requestId: exchange.requestId,
        clientRequestId: exchange.clientRequestId,
        method: ctx.method,
        path: ctx.path,
        dialect: exchange.dialect,
        operation: exchange.operation,
        // A request rejected before its route read it still says which api-version it asked for.
        apiVersion:
          exchange.apiVersion ??
          (ctx.querystring ? queryParam(ctx.querystring, "api-version")?.slice(0, 64) : undefined),
        model: exchange.model,
        deployment: exchange.deployment,
        replica: exchange.replica,
        routeReason: exchange.routeReason,
        safetyIdentifier: exchange.safetyIdentifier,
        route: routeOf(ctx),
        status,
        stream: exchange.stream,
        durationMs: round(performance.now() - started),
        clientAborted: aborted,
        upstreamError: errorCode !== undefined && (UPSTREAM_CODES.has(errorCode) || (status >= 500 && status !== 500)),
        upstreamMs: roundOrUndefined(upstreamMs),
        firstTokenMs: outcome?.firstTokenMs === undefined ? undefined : round((upstreamMs ?? 0) + outcome.firstTokenMs),
        consumer: exchange.consumer,
        promptTokens: usage?.prompt_tokens,
        completionTokens: usage?.completion_tokens,
        cachedTokens: usage?.cached_tokens,
        reasoningTokens: usage?.reasoning_tokens,
        errorCode,
        errorTarget: exchange.error?.target,
        // What the client was not shown: the engine's body, the transport's error code and message.
        errorDetail: outcome?.error?.detail ?? exchange.error?.detail,
        streamCompleted: outcome?.completed,
        streamOutcome:
          outcome === undefined
            ? undefined
            : aborted
              ? "client_aborted"
              : outcome.error
                ? "failed"
                : outcome.completed
                  ? "completed"
                  : "failed",
        engineAsked: exchange.engineAsked,
      };
      if (logBodies) {
        line.requestBody = ctx.request.body;
        line.responseBody = outcome ? undefined : ctx.body;
      }
      if (!PROBE_ROUTES.has(line.route)) metrics.observe(line);
      // An engine failure is an operator's concern: `warn`, so a filter on warnings sees an outage.
      if (line.upstreamError) log.warn(line, "request");
      else log.info(line, "request");
    });
    await next();
    // Non-streaming answers carry where the time went; a stream's headers are long gone by its end.
    const { upstreamMs: upstream, deployment, replica } = exchangeOf(ctx);
    if (upstream !== undefined && ctx.respond !== false) {
      const total = performance.now() - started;
      const desc =
        deployment === undefined ? "" : `;desc=${JSON.stringify(replica ? `${deployment} ${replica}` : deployment)}`;
      ctx.set(
        "server-timing",
        `upstream${desc};dur=${upstream.toFixed(2)}, gateway;dur=${Math.max(0, total - upstream).toFixed(2)}`,
      );
    }
  };
}

/** The client went away before its answer ended. When the response closes mid-stream, the stream may
 * not have noticed yet; a response the gateway cut itself carries the stream's error instead. */
export function clientAborted(ctx: Context): boolean {
  const outcome = exchangeOf(ctx).streamOutcome;
  return (outcome?.clientAborted ?? false) || (!ctx.res.writableFinished && !outcome?.error);
}

const round = (ms: number) => Math.round(ms * 100) / 100;
const roundOrUndefined = (ms: number | undefined) => (ms === undefined ? undefined : round(ms));
