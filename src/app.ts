// createApp(config): Koa with the middleware composed once; routes served at /, /models and
// /api/models, the three bases Azure clients are given.
import Router from "@koa/router";
import Koa from "koa";
import { koaBody } from "koa-body";
import { pino, type Logger } from "pino";
import type { Config } from "./config.ts";
import type { GatewayDeps } from "./deps.ts";
import { apiKeyAuth } from "./http/auth.ts";
import { concurrencyCap } from "./http/concurrency.ts";
import { errorMiddleware } from "./http/error-middleware.ts";
import { GatewayError } from "./http/errors.ts";
import { createMetrics } from "./http/metrics.ts";
import { observe, routeLabel } from "./http/observe.ts";
import { traceRequests } from "./http/trace.ts";
import { requestId } from "./http/request-id.ts";
import { requireJson } from "./http/require-json.ts";
import { registerChatCompletions } from "./routes/chat-completions.ts";
import { registerEmbeddings } from "./routes/embeddings.ts";
import { registerImageEmbeddings } from "./routes/image-embeddings.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { registerHealth, registerInfo } from "./routes/info.ts";
import { createUpstream } from "./upstream/client.ts";
import { createModelCatalog } from "./upstream/models.ts";

export const ROUTE_PREFIXES = ["", "/models", "/api/models"] as const;
const underEveryPrefix = (...paths: string[]) => new Set(ROUTE_PREFIXES.flatMap((prefix) => paths.map((p) => prefix + p)));
const OPEN_PATHS = underEveryPrefix("/health");
const UNCAPPED_PATHS = underEveryPrefix("/health", "/ready");

export interface Gateway {
  app: Koa;
  deps: GatewayDeps;
  close(): Promise<void>;
}

/** Never logged, whatever a log call is handed. */
// Fixed paths, not wildcards: a wildcard makes pino walk every logged object (measured ~2% CPU/request).
export const REDACTED = ["headers.authorization", "headers[\"api-key\"]", "headers.cookie", "req.headers.authorization", "req.headers[\"api-key\"]", "req.headers.cookie", "err.headers.authorization"];

export function createLogger(config: Config): Logger {
  const pretty = process.stdout.isTTY && config.logLevel !== "silent";
  const options = { level: config.logLevel, redact: { paths: REDACTED, censor: "[redacted]" } };
  if (pretty) return pino({ ...options, transport: { target: "pino-pretty" } });
  // Asynchronous stdout: lines written while a write is in flight go out together; pino flushes on exit.
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

export function createApp(config: Config, log: Logger = createLogger(config)): Gateway {
  const upstream = createUpstream(config);
  const models = createModelCatalog(upstream, config.modelsCacheMs, Math.min(config.firstByteTimeoutMs, 10_000));
  const metrics = createMetrics();
  const deps: GatewayDeps = { config, upstream, models, log, metrics, lifecycle: { draining: false }, paths: (path) => [...underEveryPrefix(path)] };

  const app = new Koa({ proxy: false });
  app.silent = true; // errors are written and logged by errorMiddleware

  const router = new Router();
  registerHealth(router, deps);
  registerMetrics(router, deps);
  registerInfo(router, deps);
  registerChatCompletions(router, deps);
  registerEmbeddings(router, deps);
  registerImageEmbeddings(router, deps);

  app.use(errorMiddleware(log));
  app.use(requestId);
  if (config.tracing) app.use(traceRequests((ctx) => routeLabel((ctx as { _matchedRoute?: string })._matchedRoute, ROUTE_PREFIXES)));
  app.use(observe(log, metrics, ROUTE_PREFIXES, config.logBodies));
  // Registered only when configured: a middleware that only calls next() still costs a frame and a promise.
  if (config.apiKeys.length > 0) app.use(apiKeyAuth(config.apiKeys, OPEN_PATHS));
  if (config.maxConcurrent > 0) app.use(concurrencyCap(config.maxConcurrent, UNCAPPED_PATHS));
  app.use(requireJson);
  app.use(koaBody({
    json: true,
    jsonStrict: true,
    jsonLimit: config.bodyLimitBytes,
    multipart: false,
    urlencoded: false,
    text: false,
  }));
  app.use(async function unmatched(ctx, next) {
    await next(); // the router's allowedMethods has set 405 + Allow by now
    if (ctx.status === 405) {
      const allow = ctx.response.get("allow");
      throw new GatewayError("MethodNotAllowed", `Method ${ctx.method} is not allowed on ${ctx.path}; allowed: ${allow}.`, { headers: { allow } });
    }
    if (ctx.body === undefined && ctx.status === 404) {
      throw new GatewayError("NotFound", `No route ${ctx.method} ${ctx.path.slice(0, 200)}. Routes: /chat/completions, /embeddings, /images/embeddings, /info (also under /models and /api/models).`);
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());

  return { app, deps, close: () => upstream.close() };
}
