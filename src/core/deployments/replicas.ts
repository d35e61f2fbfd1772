// Several engines serving one deployment (replicas of one model), behind one Upstream: each engine call
// goes to the replica the deployment's router chooses (core/routing/router.ts: by prefix and load, or the
// fewest requests in flight; a request counts until its answer's body closes, so long streams weigh
// what they cost).
// A replica that refuses a connection is taken out at once; one that fails its check is taken out by
// the checks (--engine-checks, core/deployments/engine-watch.ts), which also bring it back in. A call whose
// connection failed (nothing was sent) is retried once on another replica; never after a byte was sent.
import { trace } from "@opentelemetry/api";
import type { Logger } from "pino";
import { engineClient, type Upstream } from "../upstream/client.ts";
import { isConnectFailure } from "../upstream/failures.ts";
import type { ModelCatalog } from "../upstream/models.ts";
import { type EngineReadiness, type EngineReport, type EngineState } from "../upstream/readiness.ts";
import { UpstreamRequest, type UpstreamResponse } from "../upstream/transport.ts";
import type { EngineLoad } from "../routing/engine-load.ts";
import { hashString } from "../routing/prefix.ts";
import type { RouteCandidate, RouteChoice, RouteReason, Router } from "../routing/router.ts";

export interface Replica extends RouteCandidate {
  readonly upstream: Upstream;
  readonly models: ModelCatalog;
  readonly readiness: EngineReadiness;
  inFlight: number;
  /** Calls sent to it that did not end well (the connection or the body failed, or was cut). */
  unfinished: number;
  /** Its engine's load as last read from its /metrics (engine-load-reader.ts); undefined when unread. */
  engineLoad: EngineLoad | undefined;
  /** When its /metrics was last read (ms since the epoch), whatever it said. */
  engineLoadAt: number | undefined;
}

export function createReplica(upstream: Upstream, models: ModelCatalog, readiness: EngineReadiness): Replica {
  const label = new URL(upstream.baseUrl).host;
  return {
    upstream,
    models,
    readiness,
    label,
    labelHash: hashString(label),
    inFlight: 0,
    unfinished: 0,
    engineLoad: undefined,
    engineLoadAt: undefined,
    get isIn() {
      return readiness.last.state === "ready";
    },
  };
}

/** What the balancer reports besides the answer. */
export interface BalancerEvents {
  /** A connection failed before anything was sent; the call goes to `to`. */
  retried(from: Replica, to: Replica, err: unknown): void;
  /** A replica was chosen, and why. */
  routed(replica: Replica, reason: RouteReason): void;
}

/** One Upstream over the replicas: the same openapi-fetch client, with a transport that asks the router. */
export function balancedUpstream(
  replicas: readonly Replica[],
  router: Router<Replica>,
  events: BalancerEvents,
): Upstream {
  const [first] = replicas as [Replica, ...Replica[]];
  const base = first.upstream.baseUrl;
  const root = first.upstream.rootUrl; // every engine URL, under /v1 or not, starts with it

  const callOn = async (choice: RouteChoice<Replica>, request: UpstreamRequest): Promise<UpstreamResponse> => {
    const { replica, reason } = choice;
    const own = new UpstreamRequest(replica.upstream.rootUrl + request.url.slice(root.length), request);
    // With tracing on, the request's span is the active one here: it names the replica that served it
    // and why (a retried call names the second).
    const span = trace.getActiveSpan();
    span?.setAttribute("azure_openai_proxy.replica", replica.label);
    span?.setAttribute("azure_openai_proxy.route_reason", reason);
    if (request.exchange) {
      request.exchange.replica = replica.label; // for the log line
      request.exchange.routeReason = reason;
    }
    events.routed(replica, reason);
    replica.inFlight++;
    let released = false;
    const release = () => void (released || ((released = true), replica.inFlight--));
    try {
      const res = await replica.upstream.transport(own);
      res.onBodyDone((ended) => {
        if (!ended) replica.unfinished++;
        release();
      });
      return res;
    } catch (err) {
      if (!isConnectFailure(err)) replica.unfinished++;
      release();
      throw err;
    }
  };

  const transport = async (request: UpstreamRequest): Promise<UpstreamResponse> => {
    const tried = new Set<Replica>();
    const choice = router.choose(replicas, request.routing)!;
    try {
      return await callOn(choice, request);
    } catch (err) {
      tried.add(choice.replica);
      // A streamed body may have been read in part: only a body the gateway holds is sent again.
      const resendable =
        request.body === undefined || typeof request.body === "string" || request.body instanceof Uint8Array;
      const other = resendable && isConnectFailure(err) ? router.choose(replicas, undefined, tried) : undefined;
      if (!other) throw err;
      events.retried(choice.replica, other.replica, err);
      return callOn(other, request);
    }
  };

  const client = engineClient(base, transport);
  return {
    client,
    engineHeaders: () => first.upstream.engineHeaders(),
    getRootJson: (path, signal) => router.choose(replicas, undefined)!.replica.upstream.getRootJson(path, signal),
    route: (method, path, optional) => first.upstream.route(method, path, optional),
    transport,
    baseUrl: base,
    rootUrl: root,
    close: async () => void (await Promise.all(replicas.map((r) => r.upstream.close()))),
  };
}

/** A deployment is ready while any replica is; loading while every one loads. */
export function anyReplicaReadiness(replicas: readonly Replica[], startedAt: number): EngineReadiness {
  const summarise = (reports: readonly EngineReport[]): EngineReport => {
    const ready = reports.filter((r) => r.state === "ready");
    const state: EngineState =
      ready.length > 0 ? "ready" : reports.every((r) => r.state === "loading") ? "loading" : "unavailable";
    const models = [...new Set(ready.flatMap((r) => r.models))];
    const reason =
      state === "ready" ? undefined : reports.map((r, i) => `${replicas[i]!.label}: ${r.reason ?? r.state}`).join("; ");
    const since = Math.min(...reports.filter((r) => r.state === state).map((r) => r.since), Date.now());
    return { state, models, since: state === "loading" ? startedAt : since, ...(reason ? { reason } : {}) };
  };
  let last = summarise(replicas.map((r) => r.readiness.last));
  const observe = (now: EngineReport) => {
    const before = last;
    last = now;
    if (now.state !== before.state) readiness.onChange?.(now, before);
    return now;
  };
  const readiness: EngineReadiness = {
    check: async () => observe(summarise(await Promise.all(replicas.map((r) => r.readiness.check())))),
    get last() {
      return last;
    },
    get everReady() {
      return replicas.some((r) => r.readiness.everReady);
    },
    get seenAt() {
      const seen = replicas.map((r) => r.readiness.seenAt ?? 0);
      return Math.max(...seen) || undefined;
    },
    refused() {
      // Each replica's transport reports its own refusals.
    },
  };
  return readiness;
}

export function logReplicaChanges(
  replicas: readonly Replica[],
  deployment: string,
  log: Logger,
  gauge: (replica: string, up: boolean) => void,
): void {
  for (const r of replicas) {
    const replica = r.label;
    gauge(replica, false);
    r.readiness.onChange = (now, before) => {
      gauge(replica, now.state === "ready");
      const line = { deployment, replica, state: now.state, was: before.state, reason: now.reason };
      if (now.state === "ready") log.info(line, "replica in");
      else log.warn(line, "replica out");
    };
  }
}
