// The fleet at a glance, for operators (GET /status, the status page): each deployment with its engines'
// state, the requests the gateway has on them, their load as their /metrics last said, when each was last
// seen; each consumer's usage against its limits; the errors answered lately. Read from what the gateway
// already keeps (readiness, engine loads, the store's counters): asking for it sends nothing to an engine.
import type { GatewayDeps } from "../../deps.ts";
import { type LimitUsage, limitUsage } from "../consumers/limits.ts";
import { type Deployment, operationsOf } from "../deployments/deployments.ts";
import type { Replica } from "../deployments/replicas.ts";
import { redactUrl } from "../state/open-store.ts";
import type { EngineState } from "../upstream/readiness.ts";
import { VERSION } from "../../version.ts";

export interface EngineStatus {
  /** host:port, as logs and metrics label it. */
  replica: string;
  /** The engine's base URL, without credentials. */
  url: string;
  state: EngineState;
  since: string;
  reason?: string;
  /** When it last listed its models; null: never since the gateway started. */
  lastSeen: string | null;
  /** Requests the gateway has on it now (the deployment's, for a single engine). */
  inFlight: number;
  /** Its own /metrics as last read; null while unknown (not read yet, no known metrics, no answer). */
  load: {
    engine: string;
    waiting: number | null;
    running: number | null;
    kvCacheUsage: number | null;
    prefixCacheHitRatio: number | null;
    readAt: string;
  } | null;
}

export interface LimitStatus {
  what: LimitUsage["what"];
  per: LimitUsage["per"] | null;
  limit: number;
  used: number;
  resetsAt: string | null;
}

export interface DeploymentStatus {
  /** The deployments file's name; "default" for the flags' engine. */
  name: string;
  operations: readonly string[];
  state: EngineState;
  since: string;
  reason?: string;
  models: string[];
  inFlight: number;
  /** Requests waiting for a slot under max_concurrent. */
  queued: number;
  maxConcurrent: number | null;
  routing: string | null;
  engines: EngineStatus[];
  limits: LimitStatus[];
}

export interface ConsumerStatus {
  name: string;
  /** Its allow-list; null: every deployment. */
  deployments: string[] | null;
  limits: LimitStatus[];
}

export interface FleetStatus {
  generatedAt: string;
  gateway: {
    version: string;
    pid: number;
    startedAt: string;
    uptimeSeconds: number;
    draining: boolean;
    store: { kind: string; location: string };
    /** Whether the limits below could be read (a store that fails leaves them empty). */
    storeAnswered: boolean;
  };
  deployments: DeploymentStatus[];
  consumers: ConsumerStatus[];
  recentErrors: {
    windowSeconds: number;
    byCode: Array<{ code: string; status: number; count: number; lastAt: string }>;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();
const orNull = (n: number | undefined) => (n === undefined ? null : n);

function engineStatus(r: Replica, inFlight: number): EngineStatus {
  const report = r.readiness.last;
  const load = r.engineLoad;
  const seen = r.readiness.seenAt;
  return {
    replica: r.label,
    url: redactUrl(r.upstream.baseUrl),
    state: report.state,
    since: iso(report.since),
    ...(report.reason ? { reason: report.reason } : {}),
    lastSeen: seen === undefined ? null : iso(seen),
    inFlight,
    load:
      load === undefined || r.engineLoadAt === undefined
        ? null
        : {
            engine: load.engine,
            waiting: orNull(load.waiting),
            running: orNull(load.running),
            kvCacheUsage: orNull(load.kvUsage),
            prefixCacheHitRatio:
              load.cachedPromptTokens !== undefined && load.promptTokens
                ? load.cachedPromptTokens / load.promptTokens
                : null,
            readAt: iso(r.engineLoadAt),
          },
  };
}

const limitStatus = (u: LimitUsage): LimitStatus => ({
  what: u.what,
  per: u.per ?? null,
  limit: u.limit,
  used: u.used,
  resetsAt: u.resetsAt === undefined ? null : iso(u.resetsAt),
});

export async function fleetStatus(deps: GatewayDeps): Promise<FleetStatus> {
  const { config, deployments, access, store, metrics, lifecycle, startedAt } = deps;
  const now = deps.clock();
  let storeAnswered = true;
  const usage = async (...args: Parameters<typeof limitUsage> extends [unknown, ...infer R] ? R : never) => {
    try {
      return (await limitUsage(store, ...args)).map(limitStatus);
    } catch {
      storeAnswered = false;
      return [];
    }
  };
  const deploymentStatus = async (d: Deployment): Promise<DeploymentStatus> => {
    const report = d.readiness.last;
    const inFlight = d.replicas.length > 1 ? d.replicas.reduce((n, r) => n + r.inFlight, 0) : d.inFlight;
    return {
      name: d.name ?? "default",
      operations: operationsOf(d),
      state: report.state,
      since: iso(report.since),
      ...(report.reason ? { reason: report.reason } : {}),
      models: report.models,
      inFlight,
      queued: d.waiting?.length ?? 0,
      maxConcurrent: d.maxConcurrent ?? null,
      routing: d.router?.policy ?? null,
      engines: d.replicas.map((r) => engineStatus(r, d.replicas.length > 1 ? r.inFlight : inFlight)),
      limits: await usage({ deployment: d.name ?? "" }, d.limits, now),
    };
  };
  const [deploymentList, consumers] = await Promise.all([
    Promise.all(deployments.all.map(deploymentStatus)),
    Promise.all(
      [...access.consumers.values()].map(async (c): Promise<ConsumerStatus> => ({
        name: c.name,
        deployments: c.deployments ?? null,
        limits: await usage({ consumer: c.name }, c.limits, now),
      })),
    ),
  ]);
  return {
    generatedAt: iso(now),
    gateway: {
      version: VERSION,
      pid: process.pid,
      startedAt: iso(startedAt),
      uptimeSeconds: Math.max(0, Math.round((Date.now() - startedAt) / 1000)),
      draining: lifecycle.draining,
      store: {
        kind: config.store.kind,
        location:
          config.store.kind === "redis"
            ? redactUrl(config.store.url)
            : config.store.kind === "sqlite"
              ? config.store.path
              : "memory",
      },
      storeAnswered,
    },
    deployments: deploymentList,
    consumers,
    recentErrors: {
      windowSeconds: metrics.recentErrors.windowMs / 1000,
      byCode: metrics.recentErrors.list().map((e) => ({ ...e, lastAt: iso(e.lastAt) })),
    },
  };
}
