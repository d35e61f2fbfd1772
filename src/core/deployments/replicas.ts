// Several engines serving one deployment (replicas of one model), behind one Upstream: each engine call
// goes to the ready replica with the fewest requests in flight (a request counts until its answer's body
// closes, so long streams weigh what they cost; round-robin would pile new requests on a busy replica).
// A replica that refuses a connection is taken out at once; one that fails its check is taken out by
// the probe, which also brings it back in (each replica is checked about once a second). A call whose
// connection failed (nothing was sent) is retried once on another replica; never after a byte was sent.
import { trace } from "@opentelemetry/api";
import createClient, { createQuerySerializer } from "openapi-fetch";
import type { Logger } from "pino";
import type { paths } from "../../../generated/openai/schema.d.ts";
import type { Upstream } from "../upstream/client.ts";
import { isConnectFailure } from "../upstream/failures.ts";
import type { ModelCatalog } from "../upstream/models.ts";
import { CHECK_INTERVAL_MS, type EngineReadiness, type EngineReport, type EngineState } from "../upstream/readiness.ts";
import { UpstreamRequest, type UpstreamResponse } from "../upstream/transport.ts";

export interface Replica {
  readonly upstream: Upstream;
  readonly models: ModelCatalog;
  readonly readiness: EngineReadiness;
  inFlight: number;
  /** Calls sent to it that did not end well (the connection or the body failed, or was cut). */
  unfinished: number;
}

/** `host:port` of a replica, for logs and metrics. */
export const replicaLabel = (r: Replica) => new URL(r.upstream.baseUrl).host;

const isIn = (r: Replica) => r.readiness.last.state === "ready";

/** The replica to call: the fewest in flight among those in (all, when none is); ties rotate. `preferred`
 * (a label) wins while it is in and within AFFINITY_SLACK of the least busy. */
export function chooseReplica(
  replicas: readonly Replica[],
  exclude: ReadonlySet<Replica>,
  turn: number,
  preferred?: string,
): Replica | undefined {
  const open = replicas.filter((r) => !exclude.has(r));
  const pool = open.some(isIn) ? open.filter(isIn) : open;
  let best: Replica | undefined;
  for (let i = 0; i < pool.length; i++) {
    const r = pool[(i + turn) % pool.length]!;
    if (best === undefined || r.inFlight < best.inFlight) best = r;
  }
  if (preferred === undefined || best === undefined) return best;
  // A continuation goes back to the replica that served the earlier turn (its prefix cache holds the
  // conversation) while it is in rotation and not much busier than the least busy: never a dependency.
  const warm = pool.find((r) => replicaLabel(r) === preferred && isIn(r));
  return warm && warm.inFlight <= best.inFlight + AFFINITY_SLACK ? warm : best;
}

/** Requests in flight a warm replica may have above the least busy one and still be preferred. */
export const AFFINITY_SLACK = 4;

/** One Upstream over the replicas: the same openapi-fetch client, with a transport that balances. */
export function balancedUpstream(
  replicas: readonly Replica[],
  onRetry: (from: Replica, to: Replica, err: unknown) => void,
): Upstream {
  const [first] = replicas as [Replica, ...Replica[]];
  const base = first.upstream.baseUrl;
  const root = first.upstream.rootUrl; // every engine URL, under /v1 or not, starts with it
  let turn = 0;

  const callOn = async (replica: Replica, request: UpstreamRequest): Promise<UpstreamResponse> => {
    const own = new UpstreamRequest(replica.upstream.rootUrl + request.url.slice(root.length), request);
    // With tracing on, the request's span is the active one here: it names the replica that served it
    // (a retried call names the second).
    trace.getActiveSpan()?.setAttribute("azure_openai_proxy.replica", replicaLabel(replica));
    if (request.exchange) request.exchange.replica = replicaLabel(replica); // for the log line
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
    const replica = chooseReplica(replicas, tried, turn++, request.exchange?.preferredReplica)!;
    try {
      return await callOn(replica, request);
    } catch (err) {
      tried.add(replica);
      // A streamed body may have been read in part: only a body the gateway holds is sent again.
      const resendable =
        request.body === undefined || typeof request.body === "string" || request.body instanceof Uint8Array;
      const other = resendable && isConnectFailure(err) ? chooseReplica(replicas, tried, turn++) : undefined;
      if (!other) throw err;
      onRetry(replica, other, err);
      return callOn(other, request);
    }
  };

  const client = createClient<paths>({
    baseUrl: base,
    querySerializer: createQuerySerializer(),
    Request: UpstreamRequest as unknown as typeof Request,
    fetch: transport as unknown as (request: Request) => Promise<Response>,
  });
  return {
    client,
    baseHeaders: first.upstream.baseHeaders,
    getRootJson: (path, signal) => chooseReplica(replicas, new Set(), turn++)!.upstream.getRootJson(path, signal),
    route: (method, path, optional) => first.upstream.route(method, path, optional),
    transport,
    baseUrl: base,
    rootUrl: root,
    close: async () => void (await Promise.all(replicas.map((r) => r.upstream.close()))),
  };
}

/** A deployment is ready while any replica is; loading while every one loads. */
export function anyReplicaReadiness(
  replicas: readonly Replica[],
  startedAt: number,
): EngineReadiness & { stop(): void } {
  const summarise = (reports: readonly EngineReport[]): EngineReport => {
    const ready = reports.filter((r) => r.state === "ready");
    const state: EngineState =
      ready.length > 0 ? "ready" : reports.every((r) => r.state === "loading") ? "loading" : "unavailable";
    const models = [...new Set(ready.flatMap((r) => r.models))];
    const reason =
      state === "ready"
        ? undefined
        : reports.map((r, i) => `${replicaLabel(replicas[i]!)}: ${r.reason ?? r.state}`).join("; ");
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
  // Keeps every replica's state fresh, so one taken out is probed back in without traffic. Each round
  // starts just over CHECK_INTERVAL_MS after the last ended: a plain interval of the same length would
  // meet each replica's own once-a-second limit (counted from the end of its last check) and skip
  // every other round.
  let stopped = false;
  let probe: NodeJS.Timeout | undefined;
  const schedule = () => {
    if (stopped) return;
    probe = setTimeout(
      () =>
        void Promise.all(replicas.map((r) => r.readiness.check()))
          .then((reports) => observe(summarise(reports)))
          .finally(schedule),
      CHECK_INTERVAL_MS + 10,
    );
    probe.unref();
  };
  schedule();
  const readiness: EngineReadiness & { stop(): void } = {
    check: async () => observe(summarise(await Promise.all(replicas.map((r) => r.readiness.check())))),
    get last() {
      return last;
    },
    get everReady() {
      return replicas.some((r) => r.readiness.everReady);
    },
    refused() {
      // Each replica's transport reports its own refusals.
    },
    stop: () => {
      stopped = true;
      clearTimeout(probe);
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
    const replica = replicaLabel(r);
    gauge(replica, false);
    r.readiness.onChange = (now, before) => {
      gauge(replica, now.state === "ready");
      const line = { deployment, replica, state: now.state, was: before.state, reason: now.reason };
      if (now.state === "ready") log.info(line, "replica in");
      else log.warn(line, "replica out");
    };
  }
}
