// What operators read, never a consumer (it names every consumer and engine): GET /metrics (Prometheus text),
// /metrics/engine (the engines' own metrics, labelled), /status (the fleet at a glance, JSON). On the API
// port they answer a key of --api-key (or everyone on a gateway without authentication); --metrics-port
// serves them apart for a scraper or an operator on a private port. GET /status/page is the page that draws
// /status: it holds no data, so it is open.
import type Router from "@koa/router";
import type { Context } from "koa";
import type { GatewayDeps } from "../../deps.ts";
import { GatewayError } from "../errors.ts";
import { exchangeOf } from "../pipeline/exchange.ts";
import { engineMetricsText } from "./engine-metrics.ts";
import { fleetStatus } from "./fleet-status.ts";
import { STATUS_PAGE } from "./status-page.ts";

/** Refuses a consumer (a key or Entra token mapped to one). */
function operatorsOnly(ctx: Context, what: "metrics are" | "status is"): void {
  if (exchangeOf(ctx).consumer !== undefined)
    throw new GatewayError(
      "Forbidden",
      `The ${what} for operators: a consumer's credential does not read them. Use a key of --api-key, or --metrics-port.`,
    );
}

export const STATUS_PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "content-security-policy": STATUS_PAGE.contentSecurityPolicy,
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

export function registerOperatorRoutes(router: Router, deps: GatewayDeps): void {
  const { metrics, paths, deployments } = deps;
  router.get(paths("/metrics"), async (ctx) => {
    operatorsOnly(ctx, "metrics are");
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });
  // The engines' own metrics, labelled by deployment and replica (engine-metrics.ts).
  router.get(paths("/metrics/engine"), async (ctx) => {
    operatorsOnly(ctx, "metrics are");
    ctx.type = "text/plain; version=0.0.4; charset=utf-8";
    ctx.body = await engineMetricsText(deployments.all);
  });
  router.get(paths("/status"), async (ctx) => {
    operatorsOnly(ctx, "status is");
    ctx.set("cache-control", "no-store");
    ctx.body = await fleetStatus(deps);
  });
  router.get(paths("/status/page"), (ctx) => {
    ctx.set(STATUS_PAGE_HEADERS);
    ctx.body = STATUS_PAGE.html;
  });
}
