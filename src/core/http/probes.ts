// The probes: GET /health (the process is alive) and GET /ready (this pod can serve: its deployments' engines
// answer and serve a model, core/upstream/readiness.ts), both open without a key, under every base Azure
// clients are given. /metrics and /status are core/observability/operator-routes.ts.
import type Router from "@koa/router";
import type { GatewayDeps } from "../../deps.ts";
import type { Deployment } from "../deployments/deployments.ts";
import type { Replica } from "../deployments/replicas.ts";
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

/** A replica as /ready names it: its state, the gateway's requests on it, when it last answered a check. */
const replicaView = (r: Replica) => ({
  replica: r.label,
  state: r.readiness.last.state,
  inFlight: r.inFlight,
  lastSeen: r.readiness.seenAt === undefined ? null : new Date(r.readiness.seenAt).toISOString(),
});

/** A probe answers within a second: an engine that hangs is reported by its last known state. */
const PROBE_WAIT_MS = 900;
const reportOf = (d: Deployment): Promise<EngineReport> =>
  Promise.race([
    d.readiness.check(),
    new Promise<EngineReport>((resolve) => setTimeout(() => resolve(d.readiness.last), PROBE_WAIT_MS).unref()),
  ]);

/** GET /ready: 200 when this pod can serve: any of its deployments is ready (or every one --ready-requires
 * names). `?deployment=<name>` asks about one, `?deployment=*` about all (for operators). Open without a key:
 * Kubernetes and Azure ML probes send none. */
export function registerHealth(router: Router, { config, deployments, paths, lifecycle }: GatewayDeps): void {
  const required = config.readyRequires.map((name) => {
    const d = deployments.find(name);
    if (!d || d.name !== name)
      throw new Error(
        `--ready-requires: '${name}' names no deployment (${deployments.all.map((x) => x.name).join(", ")})`,
      );
    return d;
  });
  // Liveness. With --engine-liveness, an engine in the same container that was ready once and has not answered
  // for that long fails it, so the container (and its wedged engine) is restarted; never while a model loads.
  router.get(paths("/health"), async (ctx) => {
    if (config.engineLivenessMs > 0) {
      for (const d of deployments.all) {
        if (!d.readiness.everReady) continue;
        const report = await reportOf(d);
        const down = Date.now() - report.since;
        if (report.state !== "ready" && down > config.engineLivenessMs)
          throw new GatewayError(
            "ServiceUnavailable",
            `The engine${d.name ? ` of '${d.name}'` : ""} has not answered for ${secondsSince(report.since)} (--engine-liveness): ${report.reason ?? "unknown reason"}`,
          );
      }
    }
    ctx.type = "text/plain";
    ctx.body = "OK";
  });
  router.get(paths("/ready"), async (ctx) => {
    if (lifecycle.draining) throw new GatewayError("ServiceUnavailable", "The gateway is shutting down.");
    const asked = typeof ctx.query.deployment === "string" && ctx.query.deployment ? ctx.query.deployment : undefined;
    const chosen =
      asked === undefined || asked === "*"
        ? deployments.all
        : [deployments.find(asked)].filter((d): d is Deployment => d !== undefined);
    if (chosen.length === 0)
      throw new GatewayError(
        "NotFound",
        `No deployment is named '${asked!.slice(0, 200)}'. Deployments: ${deployments.all.map((d) => d.name).join(", ")}.`,
      );
    const reports = await Promise.all(chosen.map(reportOf));
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
    // The pod serves while any deployment can (one dead backend must not take every pod out of its Service),
    // unless it was told which it needs; an operator's view (one, or `*`) needs every deployment it names.
    const needed =
      asked === undefined
        ? required.length
          ? failing.filter(([d]) => required.includes(d))
          : failing.length === chosen.length
            ? failing
            : []
        : failing;
    if (needed.length > 0) {
      const which = needed.map(([d, r]) => `${d.name}: the engine ${notReady(r)}`).join("; ");
      throw new GatewayError("ServiceUnavailable", `Not ready: ${which}`, {
        headers: { "retry-after": LOADING_RETRY_AFTER_S },
      });
    }
    ctx.body = {
      status: "ready",
      deployments: Object.fromEntries(
        chosen.map((d, i) => [
          d.name,
          { state: reports[i]!.state, models: reports[i]!.models, replicas: d.replicas.map(replicaView) },
        ]),
      ),
    };
  });
}
