// createApp(config): Koa with the middleware composed once, and the four dialects over one upstream core:
// Azure AI Model Inference at /, /models and /api/models (the three bases Azure clients are given),
// Azure OpenAI at /openai/v1 and /openai/deployments, and the engine's own OpenAI API at /v1.
import Router from "@koa/router";
import Koa from "koa";
import { koaBody } from "koa-body";
import { pino, type Logger } from "pino";
import type { Config } from "./config.ts";
import type { GatewayDeps } from "./deps.ts";
import { concurrencyCap, type Slots } from "./core/http/concurrency.ts";
import { errorMiddleware } from "./core/http/error-middleware.ts";
import { type ErrorBody, GatewayError } from "./core/errors.ts";
import { createMetrics } from "./core/observability/metrics.ts";
import { observe, routeLabel } from "./core/observability/observe.ts";
import { traceRequests } from "./core/observability/trace.ts";
import { requestId } from "./core/http/request-id.ts";
import { checkJsonBounds } from "./core/http/json-bounds.ts";
import { requireJson } from "./core/http/require-json.ts";
import { registerOperatorRoutes } from "./core/observability/operator-routes.ts";
import { registerHealth } from "./core/http/probes.ts";
import { runsNow, stopRuns } from "./dialects/openai/background-runs.ts";
import { ENGINE_ROUTES } from "./dialects/openai/engine-routes.ts";
import { DIALECTS, dialectOf, ROUTES_HINT } from "./dialects/table.ts";
import { createDeployments } from "./core/deployments/deployments.ts";
import { createAccess, identify } from "./core/consumers/access.ts";
import { openStore } from "./core/state/open-store.ts";
import { watchConfigFile } from "./config-reload.ts";
import { createCompactionSeal } from "./dialects/openai/compaction.ts";
import { createLocalFiles, type FileStorage } from "./core/files/local-files.ts";
import { randomBytes } from "node:crypto";

export const ROUTE_PREFIXES = ["", "/models", "/api/models"] as const;
const underEveryPrefix = (...paths: string[]) =>
  new Set(ROUTE_PREFIXES.flatMap((prefix) => paths.map((p) => prefix + p)));
const OPEN_PATHS = underEveryPrefix("/health", "/ready", "/status/page");
// Probes, scrapes and the status page are answered however loaded the gateway is.
const UNCAPPED_PATHS = underEveryPrefix("/health", "/ready", "/metrics", "/metrics/engine", "/status", "/status/page");

const ENGINE_PATHS = new Set(ENGINE_ROUTES);
/** Bodies passed to the engine as they are (audio's multipart), not only JSON. */
const RAW_BODY_PATHS = /^\/openai\/(?:v1|deployments\/[^/]+)\/audio\/(?:transcriptions|translations)$/;
/** Files API uploads: multipart, read by the route (dialects/openai/files.ts). */
const UPLOAD_PATHS = /^\/(?:v1|openai\/v1|openai)\/files$/;
const acceptsAnyBody = (path: string) => ENGINE_PATHS.has(path) || RAW_BODY_PATHS.test(path) || UPLOAD_PATHS.test(path);

/** Errors are written in the envelope of the dialect the path belongs to, routed or not. */
export const errorBodyOf = (path: string): ErrorBody => dialectOf(path).errorBody;

/** The route a request's path would match (a request answered before routing: 401, 413, 415, 429),
 * or, for a wrong method, the route of that path (405). */
function wouldMatch(router: Router, ctx: Koa.Context): string | undefined {
  const { path, pathAndMethod } = router.match(ctx.path, ctx.method);
  const layer = pathAndMethod.find((l) => l.methods.length > 0) ?? path.find((l) => l.methods.length > 0);
  return typeof layer?.path === "string" ? layer.path : undefined;
}

export interface Gateway {
  app: Koa;
  deps: GatewayDeps;
  /** Reads the --config file again (SIGHUP); false when there is none or it was refused. */
  reloadConfig(reason: string): boolean;
  close(): Promise<void>;
}

/** Never logged, whatever a log call is handed. */
// Fixed paths, not wildcards: a wildcard makes pino walk every logged object (measured ~2% CPU/request).
export const REDACTED = [
  "headers.authorization",
  'headers["api-key"]',
  "headers.cookie",
  "req.headers.authorization",
  'req.headers["api-key"]',
  "req.headers.cookie",
  "err.headers.authorization",
];

export function createLogger(config: Config): Logger {
  const pretty = process.stdout.isTTY && config.logLevel !== "silent";
  const options = { level: config.logLevel, redact: { paths: REDACTED, censor: "[redacted]" } };
  if (pretty) return pino({ ...options, transport: { target: "pino-pretty" } });
  // Asynchronous stdout: lines written while a write is in flight go out together; pino flushes on exit.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

/** `clock`: what the limits' windows are reckoned by (a test moves it instead of waiting a minute). */
export function createApp(config: Config, log: Logger = createLogger(config), clock: () => number = Date.now): Gateway {
  const startedAt = Date.now();
  const metrics = createMetrics(clock);
  const deployments = createDeployments(config, log, startedAt, {
    engineUp: (d, up) => metrics.engineReady.labels(d).set(up ? 1 : 0),
    replicaUp: (d, r, up) => metrics.replicaReady.labels(d, r).set(up ? 1 : 0),
    routed: (d, _replica, reason) => metrics.routeDecisions.labels(d, reason).inc(),
    engineLoad: (d, r, load) => metrics.engineLoad(d, r, load),
  });
  const access = createAccess(config.deployments.access, config.apiKeys);
  const store = openStore(config.store, (err) =>
    log.error({ err, store: config.store.kind }, "the state store failed"),
  );
  let fileStorage: Promise<FileStorage> | undefined;
  const deps: GatewayDeps = {
    config,
    deployments,
    access,
    store,
    startedAt,
    clock,
    log,
    metrics,
    lifecycle: { draining: false },
    compaction: createCompactionSeal(config.compactionKey ?? randomBytes(32)),
    files: () => (fileStorage ??= createLocalFiles(config.filesDir)),
    paths: (path) => [...underEveryPrefix(path)],
  };

  const reloader = config.configFile ? watchConfigFile(deps, config.configFile) : undefined;

  const app = new Koa({ proxy: false });
  app.silent = true; // errors are written and logged by errorMiddleware

  const router = new Router();
  registerHealth(router, deps);
  registerOperatorRoutes(router, deps);
  for (const dialect of DIALECTS) dialect.register(router, deps);

  app.use(errorMiddleware(log, errorBodyOf, config.bodyLimitBytes));
  app.use(requestId((path) => dialectOf(path).name));
  const routeOf = (ctx: Koa.Context) =>
    routeLabel((ctx as { _matchedRoute?: string })._matchedRoute ?? wouldMatch(router, ctx), ROUTE_PREFIXES);
  if (config.tracing) app.use(traceRequests(routeOf, (path) => dialectOf(path).provider));
  app.use(observe(log, metrics, routeOf, config.logBodies));
  // Registered only when configured: a middleware that only calls next() still costs a frame and a promise.
  // A file that can be reloaded may gain consumers later: it always goes through identify.
  if (config.deployments.access || config.configFile || config.apiKeys.length > 0)
    app.use(
      identify(
        () => deps.access,
        OPEN_PATHS,
        (obj, msg) => log.warn(obj, msg),
      ),
    );
  metrics.watchRuns(() => runsNow());
  const gatewaySlots: Slots = { inFlight: 0 };
  metrics.watchQueues(function* () {
    if (config.maxConcurrent > 0) yield ["gateway", gatewaySlots.waiting?.length ?? 0];
    for (const d of deployments.all)
      if (d.maxConcurrent !== undefined) yield [d.name ?? "default", d.waiting?.length ?? 0];
  });
  if (config.maxConcurrent > 0)
    app.use(
      concurrencyCap(config.maxConcurrent, config.queueTimeoutMs, UNCAPPED_PATHS, gatewaySlots, (ms) =>
        metrics.queueWaited("gateway", ms),
      ),
    );
  app.use(requireJson(acceptsAnyBody));
  app.use(
    koaBody({
      json: true,
      jsonStrict: true,
      jsonLimit: config.bodyLimitBytes,
      multipart: false,
      urlencoded: false,
      text: false,
    }),
  );
  app.use(checkJsonBounds);
  app.use(async function unmatched(ctx, next) {
    await next(); // the router's allowedMethods has set 405 + Allow by now
    if (ctx.status === 405 || ctx.status === 501) {
      // 501: a method the router does not know at all (TRACE, PROPFIND); the path's methods say what is allowed.
      const allow =
        ctx.response.get("allow") ||
        [...new Set(router.match(ctx.path, ctx.method).path.flatMap((l) => l.methods))].join(", ");
      if (allow)
        throw new GatewayError(
          "MethodNotAllowed",
          `Method ${ctx.method.slice(0, 20)} is not allowed on ${ctx.path.slice(0, 200)}; allowed: ${allow}.`,
          { headers: { allow } },
        );
      throw new GatewayError(
        "NotFound",
        `This gateway has no route ${ctx.method.slice(0, 20)} ${ctx.path.slice(0, 200)}. ${ROUTES_HINT}`,
      );
    }
    if (ctx.body === undefined && ctx.status === 404) {
      throw new GatewayError(
        "NotFound",
        `This gateway has no route ${ctx.method} ${ctx.path.slice(0, 200)}. ${ROUTES_HINT}`,
      );
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());

  return {
    app,
    deps,
    reloadConfig(reason) {
      if (reloader) return reloader.reload(reason, true);
      log.info({ reason }, "no --config file to read again");
      return false;
    },
    close: async () => {
      reloader?.close();
      await stopRuns(store); // runs still going when the drain ends are answered failed, not left running
      await deployments.close();
      await store.close();
    },
  };
}
