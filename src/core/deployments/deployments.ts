// The deployments a gateway serves: the one engine of the flags, or those of a deployments file, each
// with its own upstream client, model catalog and readiness. One rule picks the deployment of a
// request, in every dialect:
//   1. the path's deployment (/openai/deployments/{name}/…), else the body's `model`, else the
//      `azureml-model-deployment` header; a path or body name that names no deployment is a 404
//      listing them; a header that names none is ignored (Azure ML sets it for its own routing);
//   2. a name is a deployment's name, or the engine model a deployment declares;
//   3. with no name: the file's `default`, else the one deployment that serves the operation, else a
//      400 listing those that do.
// With one deployment (the flags', or a file's only one) every name stands for it.
// A deployment that does not serve the operation (declared `operations`) is a 404 naming those that do.
import type { Logger } from "pino";
import type { Config } from "../../config.ts";
import { GatewayError, type ErrorCode } from "../errors.ts";
import { createUpstream, type Upstream } from "../upstream/client.ts";
import type { EngineRoute } from "../upstream/call.ts";
import { createModelCatalog, type ModelCatalog } from "../upstream/models.ts";
import { watchEngines } from "./engine-watch.ts";
import { createEngineReadiness, type EngineReadiness } from "../upstream/readiness.ts";
import type { TransportEvents } from "../upstream/transport.ts";
import type { Limits } from "../consumers/consumers-file.ts";
import {
  ENGINE_METRICS_MS,
  OPERATIONS,
  type DeploymentSpec,
  type Operation,
  type ResponsesApi,
} from "./config-file.ts";
import { anyReplicaReadiness, balancedUpstream, createReplica, logReplicaChanges, type Replica } from "./replicas.ts";
import type { EngineLoad } from "../routing/engine-load.ts";
import { type EngineLoadReader, readEngineLoads } from "../routing/engine-load-reader.ts";
import { type RouteReason, Router } from "../routing/router.ts";

export interface Deployment {
  /** Its name in the deployments file; undefined for the one engine of the flags. */
  readonly name: string | undefined;
  /** How long a request's engine calls may take in all (its `timeouts.total`, else --total-timeout). */
  readonly totalTimeoutMs: number;
  readonly upstream: Upstream;
  readonly models: ModelCatalog;
  /** Ready while any of its replicas is. */
  readonly readiness: EngineReadiness;
  /** Its engines (one, or replicas of one model behind a balancer: replicas.ts). */
  readonly replicas: readonly Replica[];
  /** Declared operations; undefined: every operation (the engine says which it lacks). */
  readonly operations: ReadonlySet<Operation> | undefined;
  /** The engine's model name, when the file declares it. */
  readonly engineModel: string | undefined;
  readonly maxConcurrent: number | undefined;
  /** How the Responses API is served (responses-bridge.ts); undefined: the engine's, else over chat. */
  readonly responsesApi: ResponsesApi | undefined;
  /** Until when (ms) its engine is known to lack /v1/responses (it answered 404): served over chat. */
  lacksResponsesApiUntil: number;
  /** Its own capacity, shared by every consumer (core/consumers/limits.ts); a config reload may change it. */
  limits: Limits | undefined;
  /** How a replica is chosen; undefined for one engine. */
  readonly router: Router<Replica> | undefined;
  /** Reads its engines' /metrics (for the router, and /status); undefined with `engine_metrics: off`. */
  readonly engineLoads: EngineLoadReader | undefined;
  /** Requests admitted to it whose responses have not closed (core/deployments/request.ts). */
  inFlight: number;
  /** Requests waiting for a slot under max_concurrent (core/http/concurrency.ts). */
  waiting?: Array<() => void>;
  /** An engine route of this deployment, for failure messages (built once per path). */
  route(method: string, path: string, optional?: boolean): EngineRoute;
}

/** The names a request carries, where the rule looks for them. */
export interface RequestNames {
  path?: string | undefined;
  body?: string | undefined;
  header?: string | undefined;
}

export interface Deployments {
  readonly all: readonly Deployment[];
  /** The deployment a request is for, by the rule above (`operation` undefined: any, as /info asks).
   * `notFound` is the dialect's code. `visible`: the deployments the caller may use (a consumer's
   * allow-list); the others do not exist for it, in the answer or in the names an error lists. */
  pick(
    names: RequestNames,
    operation: Operation | undefined,
    notFound?: Extract<ErrorCode, "ModelNotFound" | "DeploymentNotFound">,
    visible?: (d: Deployment) => boolean,
  ): Deployment;
  /** By name or declared engine model (listings, /info, /ready). */
  find(name: string): Deployment | undefined;
  close(): Promise<void>;
}

export const servesOperation = (d: Deployment, operation: Operation) =>
  d.operations === undefined || d.operations.has(operation);
export const operationsOf = (d: Deployment): readonly Operation[] => (d.operations ? [...d.operations] : OPERATIONS);

/** What createDeployments reports besides its log lines. */
export interface DeploymentEvents {
  /** A deployment's engine became ready (or not); `deployment` is "default" for the flags' engine. */
  engineUp?(deployment: string, up: boolean): void;
  replicaUp?(deployment: string, replica: string, up: boolean): void;
  /** A replica was chosen for an engine call, and why. */
  routed?(deployment: string, replica: string, reason: RouteReason): void;
  /** A replica's /metrics was read (undefined: unread, or no known engine's). */
  engineLoad?(deployment: string, replica: string, load: EngineLoad | undefined): void;
}

function createDeployment(
  spec: DeploymentSpec,
  config: Config,
  startedAt: number,
  log: Logger,
  events: DeploymentEvents,
): Deployment & { stop(): void } {
  const own = (baseUrl: string): Config => ({
    ...config,
    upstreamBaseUrl: baseUrl,
    upstreamApiKey: spec.apiKey,
    connectTimeoutMs: spec.timeouts.connectMs ?? config.connectTimeoutMs,
    firstByteTimeoutMs: spec.timeouts.firstByteMs ?? config.firstByteTimeoutMs,
    idleTimeoutMs: spec.timeouts.idleMs ?? config.idleTimeoutMs,
    totalTimeoutMs: spec.timeouts.totalMs ?? config.totalTimeoutMs,
  });
  const replicas: Replica[] = spec.baseUrls.map((baseUrl) => {
    const replicaConfig = own(baseUrl);
    const transportEvents: TransportEvents = {};
    const upstream = createUpstream(replicaConfig, transportEvents);
    const models = createModelCatalog(
      upstream,
      replicaConfig.modelsCacheMs,
      Math.min(replicaConfig.firstByteTimeoutMs, 10_000),
    );
    const readiness = createEngineReadiness(models, startedAt);
    transportEvents.refused = () => readiness.refused();
    return createReplica(upstream, models, readiness);
  });
  const single = replicas.length === 1 ? replicas[0]! : undefined;
  let upstream: Upstream;
  let models: ModelCatalog;
  let readiness: EngineReadiness;
  let router: Router<Replica> | undefined;
  if (single) {
    ({ upstream, models, readiness } = single);
  } else {
    const label = spec.name ?? "default";
    router = new Router<Replica>({ policy: spec.routing ?? "prefix" });
    upstream = balancedUpstream(replicas, router, {
      retried: (from, to, err) =>
        log.warn(
          { deployment: spec.name, replica: from.label, to: to.label, err: (err as Error).message },
          "connection failed before anything was sent: retried on another replica",
        ),
      routed: (replica, reason) => events.routed?.(label, replica.label, reason),
    });
    models = createModelCatalog(
      upstream,
      config.modelsCacheMs,
      Math.min(own(upstream.baseUrl).firstByteTimeoutMs, 10_000),
    );
    readiness = anyReplicaReadiness(replicas, startedAt);
    logReplicaChanges(replicas, label, log, (replica, up) => events.replicaUp?.(label, replica, up));
  }
  // Every engine's load is read, a single one's too: the router uses it, operators see it (/status).
  const every = spec.engineMetricsMs ?? ENGINE_METRICS_MS;
  const engineLoads =
    every > 0
      ? readEngineLoads(replicas, every, (replica, load) =>
          events.engineLoad?.(spec.name ?? "default", replica.label, load),
        )
      : undefined;
  const routes = new Map<string, EngineRoute>();
  return {
    name: spec.name,
    totalTimeoutMs: own(upstream.baseUrl).totalTimeoutMs,
    upstream,
    models,
    readiness,
    replicas,
    operations: spec.operations ? new Set(spec.operations) : undefined,
    engineModel: spec.model,
    maxConcurrent: spec.maxConcurrent,
    responsesApi: spec.responsesApi,
    lacksResponsesApiUntil: 0,
    limits: spec.limits,
    router,
    engineLoads,
    inFlight: 0,
    route(method, path, optional = false) {
      const key = `${method} ${path} ${optional}`;
      let route = routes.get(key);
      if (!route) routes.set(key, (route = upstream.route(method, path, optional)));
      return route;
    },
    stop: () => engineLoads?.stop(),
  };
}

export function createDeployments(
  config: Config,
  log: Logger,
  startedAt = Date.now(),
  events: DeploymentEvents = {},
): Deployments {
  const file = config.deployments;
  const all = file.deployments.map((spec) => createDeployment(spec, config, startedAt, log, events));
  for (const d of all) {
    events.engineUp?.(d.name ?? "default", false);
    d.readiness.onChange = (now, before) => {
      events.engineUp?.(d.name ?? "default", now.state === "ready");
      const line = {
        deployment: d.name,
        engine: d.upstream.baseUrl,
        state: now.state,
        was: before.state,
        reason: now.reason,
      };
      if (now.state === "ready") log.info(line, "engine ready");
      else log.warn(line, "engine not ready");
    };
  }
  // A deployment's readiness checks each of its replicas.
  const stopWatching = watchEngines(
    all.map((d) => d.readiness),
    config.engineChecksMs,
  );
  const byName = new Map<string, Deployment>();
  for (const d of all) if (d.name) byName.set(d.name, d);
  for (const d of all) if (d.engineModel && !byName.has(d.engineModel)) byName.set(d.engineModel, d);
  const names = (list: readonly Deployment[]) =>
    list.map((d) => `${d.name} (${operationsOf(d).join(", ")})`).join("; ");

  const serving = (d: Deployment, operation: Operation | undefined, seen: readonly Deployment[]): Deployment => {
    if (operation === undefined || servesOperation(d, operation)) return d;
    const others = seen.filter((o) => servesOperation(o, operation)).map((o) => o.name);
    throw new GatewayError(
      "OperationNotSupported",
      `The deployment '${d.name}' does not serve ${operation}; ${others.length ? `deployments that do: ${others.join(", ")}` : "no deployment here does"}.`,
      { target: "model" },
    );
  };

  return {
    all,
    // The flags' engine answers to any name (its engine's models decide); a file's, to its own.
    find: (name) => byName.get(name) ?? (all[0]!.name === undefined ? all[0] : undefined),
    pick(requested, operation, notFound = "DeploymentNotFound", visible) {
      const seen: readonly Deployment[] = visible ? all.filter(visible) : all;
      // One engine, from the flags or a one-deployment file: every name stands for it (as a deployment
      // name of a single-model engine stands for that model).
      if (all.length === 1 && seen.length === 1) return serving(all[0]!, operation, seen);
      for (const [name, strict] of [
        [requested.path, true],
        [requested.body, true],
        [requested.header, false],
      ] as const) {
        if (!name) continue;
        const d = byName.get(name);
        if (d && seen.includes(d)) return serving(d, operation, seen);
        if (strict)
          throw new GatewayError(
            notFound,
            `The deployment '${name.slice(0, 200)}' does not exist here. Deployments: ${names(seen) || "none"}.`,
            { target: "model" },
          );
      }
      const byDefault = file.defaultName ? byName.get(file.defaultName)! : undefined;
      if (byDefault && seen.includes(byDefault)) return serving(byDefault, operation, seen);
      const candidates = operation === undefined ? seen : seen.filter((d) => servesOperation(d, operation));
      if (candidates.length === 1) return candidates[0]!;
      const what = operation ?? "requests";
      throw new GatewayError(
        "InvalidRequestBody",
        `Name a deployment in \`model\` (or in the path /openai/deployments/{name}): ${candidates.length ? `these serve ${what}: ${names(candidates)}` : `no deployment serves ${what}`}.`,
        { target: "model" },
      );
    },
    close: async () => {
      stopWatching();
      for (const d of all) d.stop();
      await Promise.all(all.map((d) => d.upstream.close()));
    },
  };
}
