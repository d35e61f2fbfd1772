// The probes: GET /health (the process is alive; open without a key) and GET /ready (every deployment's
// engine answers and serves a model: core/upstream/readiness.ts; ?deployment=<name> asks about one), under
// every base Azure clients are given. /metrics is core/observability/metrics-route.ts.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";
import type { Deployment } from "../deployments/deployments.ts";
import { GatewayError } from "../errors.ts";
import { type EngineReport, secondsSince } from "../upstream/readiness.ts";
import { LOADING_RETRY_AFTER_S } from "./engine-gate.ts";

/** "is loading (…)" / "is not ready (for N s)", with the engine's own failure. */
function notReady(report: EngineReport): string {
  const state =
    report.state === "loading"
      ? `is loading (not ready since the gateway started ${secondsSince(report.since)} ago)`
      : `is not ready (for ${secondsSince(report.since)})`;
  return `${state}: ${report.reason ?? "unknown reason"}`;
}

export function registerHealth(router: Router, { deployments, paths, lifecycle }: GatewayDeps): void {
  router.get(paths("/health"), (ctx) => {
    ctx.type = "text/plain";
    ctx.body = "OK";
  });
  // 200 when every deployment's engine is ready; ?deployment=<name> asks about one (for operators).
  router.get(paths("/ready"), async (ctx) => {
    if (lifecycle.draining) throw new GatewayError("ServiceUnavailable", "The gateway is shutting down.");
    const asked = typeof ctx.query.deployment === "string" && ctx.query.deployment ? ctx.query.deployment : undefined;
    const chosen =
      asked === undefined ? deployments.all : [deployments.find(asked)].filter((d): d is Deployment => d !== undefined);
    if (chosen.length === 0)
      throw new GatewayError(
        "NotFound",
        `No deployment is named '${asked!.slice(0, 200)}'. Deployments: ${deployments.all.map((d) => d.name).join(", ")}.`,
      );
    const reports = await Promise.all(chosen.map((d) => d.readiness.check()));
    const failing = chosen.map((d, i) => [d, reports[i]!] as const).filter(([, r]) => r.state !== "ready");
    if (chosen.length === 1 && chosen[0]!.name === undefined) {
      // The flags' engine: its state and models.
      const [report] = reports;
      if (report!.state !== "ready")
        throw new GatewayError("ServiceUnavailable", `The engine ${notReady(report!)}`, {
          headers: { "retry-after": LOADING_RETRY_AFTER_S },
        });
      ctx.body = { status: "ready", models: report!.models };
      return;
    }
    if (failing.length > 0) {
      const which = failing.map(([d, r]) => `${d.name}: the engine ${notReady(r)}`).join("; ");
      throw new GatewayError("ServiceUnavailable", `Not ready: ${which}`, {
        headers: { "retry-after": LOADING_RETRY_AFTER_S },
      });
    }
    ctx.body = {
      status: "ready",
      deployments: Object.fromEntries(
        chosen.map((d, i) => [d.name, { state: reports[i]!.state, models: reports[i]!.models }]),
      ),
    };
  });
}
