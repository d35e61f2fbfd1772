// GET /info (A#/paths/~1info/get) from the engine's model list; GET /health (process alive) and
// GET /ready (the engine answers and serves a model: core/upstream/readiness.ts).
import type Router from "@koa/router";
import type { GatewayDeps } from "../../../deps.ts";
import { apiVersionParam } from "../../../core/http/query.ts";
import { GatewayError } from "../../../core/errors.ts";
import { toAzureModelInfo } from "../mappers/model-info.ts";
import { matchServed } from "../../../core/upstream/models.ts";
import { checkApiVersion } from "../validate/api-version.ts";
import { secondsSince } from "../../../core/upstream/readiness.ts";
import { LOADING_RETRY_AFTER_S } from "../../../core/http/engine-gate.ts";

export function registerInfo(router: Router, { config, models, paths }: GatewayDeps): void {
  const modelType = config.upstreamType === "embeddings" ? "embeddings" : "chat-completion";
  router.get(paths("/info"), async (ctx) => {
    checkApiVersion(apiVersionParam(ctx.querystring));
    const requested = typeof ctx.query.model === "string" && ctx.query.model ? ctx.query.model : ctx.get("azureml-model-deployment") || undefined;
    const ids = await models.ids();
    if (ids.length === 0) throw new GatewayError("ServiceUnavailable", "The engine serves no model yet.", { headers: { "retry-after": "5" } });
    const id = matchServed(ids, requested);
    if (id === undefined) throw new GatewayError("ModelNotFound", `The model '${requested!.slice(0, 200)}' is not served here. Served: ${ids.join(", ")}.`, { target: "model" });
    ctx.body = toAzureModelInfo(id, modelType);
  });
}

export function registerHealth(router: Router, { readiness, paths, lifecycle }: GatewayDeps): void {
  router.get(paths("/health"), (ctx) => {
    ctx.type = "text/plain";
    ctx.body = "OK";
  });
  router.get(paths("/ready"), async (ctx) => {
    if (lifecycle.draining) throw new GatewayError("ServiceUnavailable", "The gateway is shutting down.");
    const report = await readiness.check();
    if (report.state === "ready") {
      ctx.body = { status: "ready", models: report.models };
      return;
    }
    const state = report.state === "loading" ? `is loading (not ready since the gateway started ${secondsSince(report.since)} ago)` : `is not ready (for ${secondsSince(report.since)})`;
    throw new GatewayError("ServiceUnavailable", `The engine ${state}: ${report.reason ?? "unknown reason"}`, { headers: { "retry-after": LOADING_RETRY_AFTER_S } });
  });
}
