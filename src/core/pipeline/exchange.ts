// One exchange per request: the typed facts every stage writes once and every later stage reads (the log
// line, the metrics, the trace, the error writer, and the stages still to come: identities, limits,
// state). Opened at the edge (http/request-id.ts), before anything can fail. The only module that knows
// where Koa keeps it.
import type { RouteReason } from "../routing/router.ts";
import type { Span } from "@opentelemetry/api";
import type { Context } from "koa";
import type { Settlement } from "../consumers/limits.ts";
import type { StreamOutcome } from "../stream/sse-writer.ts";

export interface Usage {
  prompt_tokens?: number | undefined;
  completion_tokens?: number | undefined;
  /** Of the prompt tokens, those the engine's cache served. */
  cached_tokens?: number | undefined;
  /** Of the completion tokens, those spent reasoning. */
  reasoning_tokens?: number | undefined;
}

export interface Exchange {
  readonly requestId: string;
  /** `x-ms-client-request-id`, when the client sent a usable one. */
  readonly clientRequestId: string | undefined;
  /** The dialect the path belongs to (dialects/table.ts). */
  readonly dialect: string;
  /** The operation, once a handler took the request (chat, embeddings, responses…). */
  operation: string | undefined;
  /** The api-version the request asked for, once its dialect checked it. */
  apiVersion: string | undefined;
  /** The model the engine is asked for. */
  model: string | undefined;
  stream: boolean;
  /** The deployment that serves it (undefined: the flags' one engine). */
  deployment: string | undefined;
  /** The consumer the credential names (core/consumers); undefined: anonymous (`--api-key`, or none). */
  consumer: string | undefined;
  /** The owner of what it stores, from the credential that authenticated (core/consumers/access.ts);
   * undefined: nothing authenticated it (an open gateway's one owner). */
  owner: string | undefined;
  /** Its tokens are charged against limits: a stream asks the engine for its usage. */
  metered: boolean;
  /** The deployment's count of requests in flight it holds (no max_concurrent: counted for /status), given
   * back when the response closes by the close handler that writes the log line (one listener, not two). */
  heldCount: { inFlight: number } | undefined;
  /** Its admitted charges, settled when the response closes unless taken by a background run. */
  settlement: Settlement | undefined;
  /** An engine call was sent (answered or not). */
  engineAsked: boolean;
  /** The replica (host:port) its last engine call reached (core/deployments/replicas.ts). */
  replica: string | undefined;
  /** The client's opaque id of its end user (`safety_identifier`), for the log line; at most 64 characters. */
  safetyIdentifier: string | undefined;
  /** Why the router chose that replica (core/routing/router.ts); undefined for a single engine. */
  routeReason: RouteReason | undefined;
  /** Milliseconds until the engine's answer (its headers, for a stream). */
  upstreamMs: number | undefined;
  usage: Usage | undefined;
  /** Set when the answer is a stream; complete when the response closes. */
  streamOutcome: StreamOutcome | undefined;
  /** The error the client was answered with: its code, the field at fault, what the client was not shown. */
  error: { code: string; target: string | undefined; detail: string | undefined } | undefined;
  /** The request's span, with tracing on. */
  span: Span | undefined;
}

/** Every field set, in one order: one object shape for every request. */
export function openExchange(
  ctx: Context,
  requestId: string,
  clientRequestId: string | undefined,
  dialect: string,
): Exchange {
  const exchange: Exchange = {
    requestId,
    clientRequestId,
    dialect,
    operation: undefined,
    apiVersion: undefined,
    model: undefined,
    stream: false,
    deployment: undefined,
    consumer: undefined,
    owner: undefined,
    metered: false,
    heldCount: undefined,
    settlement: undefined,
    engineAsked: false,
    replica: undefined,
    routeReason: undefined,
    safetyIdentifier: undefined,
    upstreamMs: undefined,
    usage: undefined,
    streamOutcome: undefined,
    error: undefined,
    span: undefined,
  };
  ctx.state.exchange = exchange;
  return exchange;
}

export const exchangeOf = (ctx: Context): Exchange => ctx.state.exchange as Exchange;
