// GET /metrics: Prometheus text format, for operators: on the API port it answers a key of --api-key (or
// everyone on a gateway without authentication), never a consumer's credential, since it holds every
// consumer's token counts; --metrics-port serves it apart for a scraper on a private port.
import type Router from "@koa/router";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../errors.ts";
import { exchangeOf } from "../pipeline/exchange.ts";
import { engineMetricsText } from "./engine-metrics.ts";

/** Refuses a consumer (a key or Entra token mapped to one): the metrics name every consumer. */
function operatorsOnly(ctx: Context): void {
  if (exchangeOf(ctx).consumer !== undefined)
    throw new GatewayError(
      "Forbidden",
      "The metrics are for operators: a consumer's credential does not read them. Use a key of --api-key, or scrape --metrics-port.",
    );
}

export function registerMetrics(router: Router, { metrics, paths, deployments }: GatewayDeps): void {
  router.get(paths("/metrics"), async (ctx) => {
    operatorsOnly(ctx);
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // The engines' own metrics, labelled by deployment and replica (engine-metrics.ts).
  router.get(paths("/metrics/engine"), async (ctx) => {
    operatorsOnly(ctx);
    ctx.type = "text/plain; version=0.0.4; charset=utf-8";
    ctx.body = await engineMetricsText(deployments.all);
  });
}
