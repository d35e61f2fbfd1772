// What routes are given: built once by createApp, shared by every request.
import type { Logger } from "pino";
import type { Config } from "./config.ts";
import type { Access } from "./core/consumers/access.ts";
import type { GatewayMetrics } from "./core/observability/metrics.ts";
import type { Deployments } from "./core/deployments/deployments.ts";
import type { StateStore } from "./core/state/store.ts";
import type { CompactionSeal } from "./dialects/openai/compaction.ts";
import type { FileStorage } from "./core/files/local-files.ts";

export interface GatewayDeps {
  config: Config;
  /** The engines behind the gateway, each under its deployment name (one, without --config). */
  deployments: Deployments;
  /** Who may call, under which consumer, with which limits (the --config file's consumers and entra). */
  access: Access;
  /** Stored responses, background runs, conversations, limit counters (--store). */
  store: StateStore;
  /** When the gateway started (ms since the epoch), for "loading for N s". */
  startedAt: number;
  /** The time (ms since the epoch) the limits' windows are reckoned by: Date.now, or a test's clock. */
  clock: () => number;
  log: Logger;
  metrics: GatewayMetrics;
  /** Set once SIGTERM starts the drain: /ready then answers 503 so the balancer stops sending. */
  lifecycle: { draining: boolean };
  /** The Files API's bytes (--files), opened on first use. */
  files(): Promise<FileStorage>;
  /** Seals and opens compaction items (dialects/openai/compaction.ts). */
  compaction: CompactionSeal;
  /** A route's path under every base Azure clients use (/, /models, /api/models). */
  paths(path: string): string[];
}
