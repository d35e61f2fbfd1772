// What routes are given: built once by createApp, shared by every request.
import type { Logger } from "pino";
import type { Config } from "./config.ts";
import type { GatewayMetrics } from "./core/observability/metrics.ts";
import type { Upstream } from "./core/upstream/client.ts";
import type { ModelCatalog } from "./core/upstream/models.ts";
import type { EngineReadiness } from "./core/upstream/readiness.ts";

export interface GatewayDeps {
  config: Config;
  upstream: Upstream;
  models: ModelCatalog;
  /** The engine's state now (/ready, and the gate that holds requests while it loads). */
  readiness: EngineReadiness;
  log: Logger;
  metrics: GatewayMetrics;
  /** Set once SIGTERM starts the drain: /ready then answers 503 so the balancer stops sending. */
  lifecycle: { draining: boolean };
  /** A route's path under every base Azure clients use (/, /models, /api/models). */
  paths(path: string): string[];
}
