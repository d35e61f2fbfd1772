// GET /metrics: Prometheus text format (protected by --api-key like every route but /health; use
// --metrics-port for an unauthenticated scrape port).
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";

export function registerMetrics(router: Router, { metrics, paths }: GatewayDeps): void {
  router.get(paths("/metrics"), async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
}
