// One handler for every operation of every dialect. An operation is described once (OperationSpec: how
// its body is accepted, how the engine is called, how the answer or the stream comes back) and run in
// one order: accept -> pick the deployment -> admit -> the engine's model -> call -> answer or stream ->
// settle. What a later stage needs (identities, limits, quotas, stored state) has its place in that order.
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import type { Operation } from "../deployments/config-file.ts";
import type { Deployment, RequestNames } from "../deployments/deployments.ts";
import { deploymentFor, engineModelFor, type NotFoundCode } from "../deployments/request.ts";
import { upstreamHeaders } from "../http/headers.ts";
import { createStreamOutcome, type StreamAdapter, writeSseStream } from "../stream/sse-writer.ts";
import { callUpstream, type EngineRoute, type FetchResult } from "../upstream/call.ts";
import type { UpstreamClient } from "../upstream/client.ts";
import { TotalTimeout } from "../upstream/failures.ts";
import { createRequestSignal, RequestSignal } from "../upstream/request-signal.ts";
import type { RoutingFacts } from "../routing/prefix.ts";
import { asFetchSignal, type CallRecord } from "../upstream/transport.ts";
import { type Exchange, exchangeOf, type Usage } from "./exchange.ts";

export type Handler = (ctx: Context) => Promise<void>;

/** What every operation's accept step says of a request, beside its own body. */
export interface Accepted {
  apiVersion: string | undefined;
  /** Where the request names its deployment or model (core/deployments' rule). */
  names: RequestNames;
  stream: boolean;
}

/** The parts of an engine call the handler owns; a spec adds its body. A type alias, not an interface:
 * openapi-fetch's init parameter wants an index signature. */
export type CallInit = {
  headers: Record<string, string>;
  signal: AbortSignal;
  exchange: CallRecord;
  routing: RoutingFacts | undefined;
};

/** One engine call: `send` gets the engine's typed client and the handler's init; `routing` gives what the
 * replica is chosen by (core/routing: the prompt, its cache key, the previous turn's replica), read only
 * when the deployment's router reads them (replicas routed by prefix). Failures
 * and error answers become GatewayErrors, the time to the answer is the exchange's. */
export type EngineCall = (<T>(
  send: (client: UpstreamClient, init: CallInit) => Promise<FetchResult<T>>,
  routing?: () => RoutingFacts,
) => Promise<NonNullable<T>>) & {
  /** The same engine, called apart from the client's connection (a background run): its own signal and
   * total timeout. */
  detach(): DetachedCall;
  /** The deployment whose engine this calls. */
  readonly deployment: Deployment;
};

export interface DetachedCall {
  call: EngineCall;
  signal: RequestSignal;
  /** Ends the timeout; the caller calls it when the run is over. */
  dispose(): void;
}

export interface OperationSpec<A extends Accepted> {
  /** The operation a deployment may declare (deployments file `operations:`). */
  operation: Operation;
  /** The engine route, for messages; `optional`: not every engine serves it (a missing one is a 404). */
  engine: { path: string; optional: boolean };
  /** The dialect's checks and its body: api-version, schema, its own rules. */
  accept(ctx: Context): A | Promise<A>;
  /** The answer from the engine's, and its usage. */
  answer(
    call: EngineCall,
    accepted: A,
    model: string | undefined,
    exchange: Exchange,
  ): Promise<{ body: unknown; usage?: Usage | undefined; headers?: Readonly<Record<string, string>> }>;
  /** The engine's stream and how it is re-framed; absent: the operation answers JSON only. */
  stream?(
    call: EngineCall,
    accepted: A,
    model: string | undefined,
    exchange: Exchange,
  ): Promise<{ events: AsyncIterable<Uint8Array>; adapter: StreamAdapter }>;
}

export function operationHandler<A extends Accepted>(
  spec: OperationSpec<A>,
  deps: GatewayDeps,
  notFound: NotFoundCode,
): Handler {
  return async (ctx) => {
    const exchange = exchangeOf(ctx);
    exchange.operation = spec.operation;
    const accepted = await spec.accept(ctx);
    exchange.apiVersion = accepted.apiVersion;
    exchange.stream = accepted.stream && spec.stream !== undefined;
    const body = (accepted as { body?: unknown }).body;
    const d = await deploymentFor(ctx, deps, accepted.names, spec.operation, notFound, body);
    const model = await engineModelFor(d, accepted.names, notFound);
    exchange.model = model;

    const route = d.route("POST", spec.engine.path, spec.engine.optional);
    await withEngine(ctx, d, route, async (call, signal) => {
      if (exchange.stream) {
        const { events, adapter } = await spec.stream!(call, accepted, model, exchange);
        await streamAnswer(ctx, deps, exchange, events, adapter, signal);
        exchange.usage = exchange.streamOutcome!.usage; // settle: what the stream reported
      } else {
        const { body, usage, headers } = await spec.answer(call, accepted, model, exchange);
        exchange.usage = usage; // settle
        if (headers) ctx.set(headers);
        ctx.body = body;
      }
    });
  };
}

/** Runs a request's engine calls on deployment `d` under one abort signal (the client gone, the total
 * timeout), with the gateway's upstream headers; the exchange learns the time to the answer and the
 * replica. `route` names the engine route in failure messages. */
export async function withEngine<T>(
  ctx: Context,
  d: Deployment,
  route: EngineRoute | undefined,
  run: (call: EngineCall, signal: RequestSignal) => Promise<T>,
): Promise<T> {
  const exchange = exchangeOf(ctx);
  const { signal, dispose } = createRequestSignal(ctx.res, d.totalTimeoutMs);
  const headers = upstreamHeaders(ctx, d.upstream.engineHeaders());
  const engineCall = (signal: RequestSignal): EngineCall => {
    let started: number | undefined;
    const call = Object.assign(
      async <T>(
        send: (client: UpstreamClient, init: CallInit) => Promise<FetchResult<T>>,
        routing?: () => RoutingFacts,
      ) => {
        started ??= performance.now();
        exchange.engineAsked = true;
        const init: CallInit = {
          headers,
          signal: asFetchSignal(signal),
          exchange,
          routing: routing && d.router?.readsFacts ? routing() : undefined,
        };
        const { data } = await callUpstream(signal, () => send(d.upstream.client, init), route);
        exchange.upstreamMs = performance.now() - started;
        return data;
      },
      { deployment: d },
    ) as EngineCall;
    call.detach = () => {
      const own = new RequestSignal();
      const timer = setTimeout(
        () => own.abort(new TotalTimeout(`no answer within ${d.totalTimeoutMs} ms`)),
        d.totalTimeoutMs,
      );
      timer.unref();
      return { call: engineCall(own), signal: own, dispose: () => clearTimeout(timer) };
    };
    return call;
  };
  try {
    return await run(engineCall(signal), signal);
  } finally {
    dispose();
  }
}

/** Writes the re-framed stream to the socket, event by event, and says how it ended. */
async function streamAnswer(
  ctx: Context,
  deps: GatewayDeps,
  exchange: Exchange,
  events: AsyncIterable<Uint8Array>,
  adapter: StreamAdapter,
  signal: RequestSignal,
): Promise<void> {
  ctx.status = 200;
  ctx.respond = false; // the stream writes to the socket itself
  deps.metrics.streamsInFlight.inc();
  const outcome = createStreamOutcome();
  exchange.streamOutcome = outcome; // read by the log, metrics and trace when the response closes
  await writeSseStream(events, ctx.res, adapter, signal, outcome).finally(() => deps.metrics.streamsInFlight.dec());
  if (outcome.error) {
    deps.log.warn(
      {
        requestId: exchange.requestId,
        code: outcome.error.code,
        err: outcome.error.cause ?? outcome.error.message,
        updates: outcome.updates,
      },
      "stream ended by an upstream failure",
    );
  } else if (outcome.clientAborted) {
    deps.log.info(
      { requestId: exchange.requestId, updates: outcome.updates },
      "client closed the stream; upstream aborted",
    );
  }
}
