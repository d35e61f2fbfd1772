#!/usr/bin/env node
// Entry: loadConfig -> createApp -> listen -> drain on SIGTERM/SIGINT (a second signal exits at once).
import { createLogger } from "./app.ts";
import { type Config, helpText, loadConfig } from "./config.ts";
import { redactUrl } from "./core/state/open-store.ts";
import { ConfigError } from "./config-values.ts";
import { cluster, exposeWorkerMetrics, runPrimary } from "./cluster.ts";
import { createGatewayServer, StoreNotReady } from "./server.ts";
import { startTracing } from "./core/observability/tracing.ts";
import { VERSION } from "./version.ts";

const version = VERSION;

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(helpText(version));
  if (argv.includes("--version") || argv.includes("-V")) return void process.stdout.write(`${version}\n`);
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    const message =
      err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
        ? (err as Error).message
        : String(err);
    process.stderr.write(`azure-openai-proxy: ${message}\nTry --help.\n`);
    process.exit(2);
  }
  const log = createLogger(config);
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, log);
  // A cluster worker leaves --metrics-port to the primary, which aggregates every worker's metrics.
  if (cluster.isWorker) config = { ...config, metricsPort: undefined };
  const stopTracing = config.tracing ? await startTracing(version, process.env) : undefined;
  let server;
  try {
    server = createGatewayServer(config, log);
  } catch (err) {
    // A store that cannot be opened: one line naming it, no stack trace.
    process.stderr.write(`azure-openai-proxy: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const { listen, drain, gateway } = server;
  if (cluster.isWorker) exposeWorkerMetrics(gateway.deps.metrics.registry);
  if (config.logBodies)
    log.warn("--log-bodies is on: request and response bodies (prompts and completions) are written to the log");
  if (!isLoopback(config.host) && config.apiKeys.length === 0 && !config.deployments.access && !cluster.isWorker)
    log.warn(
      { host: config.host },
      "listening beyond this machine with no --api-key and no consumers: anyone who reaches the port uses the engines and reads every stored response",
    );
  listen().then(
    (url) => log.info({ url, ...servedBy(config), version }, `listening on ${url}`),
    (err: NodeJS.ErrnoException) => {
      if (err instanceof StoreNotReady) {
        process.stderr.write(`azure-openai-proxy: ${err.message}\n`);
        process.exit(2);
      }
      // A port in use, or an address this host does not have, is a configuration error: one line, exit 2.
      const why =
        err.code === "EADDRINUSE"
          ? "the address is already in use"
          : err.code === "EADDRNOTAVAIL"
            ? "the address is not on this host"
            : err.code === "EACCES"
              ? "permission denied (ports below 1024 need privileges)"
              : err.message;
      process.stderr.write(
        `azure-openai-proxy: cannot listen on ${config.host}:${config.port}: ${why}${err.code ? ` (${err.code})` : ""}. Set --host/--port (HOST/PORT).\n`,
      );
      process.exit(2);
    },
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "draining");
    void drain()
      .then(() => stopTracing?.())
      .then(() => {
        log.info("stopped");
        process.exit(0);
      });
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Read the --config file again (consumers, keys, limits); without the handler SIGHUP would end the process.
  process.on("SIGHUP", () => gateway.reloadConfig("SIGHUP"));
}

void main(process.argv.slice(2));

/** Whether `host` is reachable only from this machine. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** What the start-up line says the gateway serves: each deployment and its engines (the flags' engine when
 * no file declares any), and where its state lives (a Redis URL without its password). */
function servedBy(config: Config): Record<string, unknown> {
  const deployments = config.deployments.deployments.map((d) => ({ name: d.name ?? "default", engines: d.baseUrls }));
  const store =
    config.store.kind === "sqlite"
      ? `sqlite:${config.store.path}`
      : config.store.kind === "redis"
        ? redactUrl(config.store.url)
        : "memory:";
  return { deployments, store };
}
