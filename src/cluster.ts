// --workers N: N processes share the listening port (node:cluster), so one container uses its cores.
// The primary forwards SIGTERM/SIGINT (and SIGHUP, a config reload) to the workers (each drains as a single process does), replaces a
// worker that dies on its own, exits 0 once all stopped, and serves --metrics-port aggregated over all
// workers (prom-client's AggregatorRegistry); each worker's /metrics shows that worker only.
import cluster from "node:cluster";
import { createServer } from "node:http";
import { AggregatorRegistry, type Registry } from "prom-client";
import type { Logger } from "pino";
import type { Config } from "./config.ts";

const RESPAWN_DELAY_MS = 1000;

export function runPrimary(config: Config, log: Logger): void {
  let stopping = false;
  let alive = 0;
  const fork = () => {
    alive++;
    cluster.fork();
  };
  for (let i = 0; i < config.workers; i++) fork();
  cluster.on("exit", (worker, code, signal) => {
    alive--;
    if (stopping) {
      if (alive === 0) {
        log.info("all workers stopped");
        process.exit(0);
      }
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, "worker died; starting another");
    setTimeout(fork, RESPAWN_DELAY_MS).unref();
  });
  const aggregator = new AggregatorRegistry();
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : createServer((req, res) => {
          if (req.method !== "GET" || req.url?.split("?")[0] !== "/metrics") return void res.writeHead(404).end();
          aggregator.clusterMetrics().then(
            (text) => res.writeHead(200, { "content-type": aggregator.contentType }).end(text),
            (err: Error) => {
              log.warn({ err }, "cluster metrics unavailable");
              res.writeHead(503).end();
            },
          );
        }).listen(config.metricsPort, config.host);
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: stopping workers now");
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGKILL");
      process.exit(1);
    }
    stopping = true;
    metricsServer?.close();
    log.info({ signal, workers: config.workers }, "draining workers");
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // Each worker reads the --config file again itself.
  process.on("SIGHUP", () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGHUP");
  });
}

/** In a worker: answer the primary's requests for this worker's metrics (prom-client adds that
 * listener when an AggregatorRegistry is constructed). */
export function exposeWorkerMetrics(registry: Registry): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}

export { cluster };
