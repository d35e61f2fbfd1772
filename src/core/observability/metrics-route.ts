// GET /metrics: Prometheus text format (protected by --api-key like every route but /health; use
// --metrics-port for an unauthenticated scrape port).
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";
import { engineMetricsText } from "./engine-metrics.ts";

export function registerMetrics(router: Router, { metrics, paths, deployments }: GatewayDeps): void {
  router.get(paths("/metrics"), async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // The engines' own metrics, labelled by deployment and replica (engine-metrics.ts).
  router.get(paths("/metrics/engine"), async (ctx) => {
    ctx.type = "text/plain; version=0.0.4; charset=utf-8";
    ctx.body = await engineMetricsText(deployments.all);
  });
}
