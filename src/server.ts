// The HTTP server around the Koa app: client-side timeouts (slow-loris clients are cut off) and the
// graceful drain used on SIGTERM. Shared by main.ts and the tests, so both run the same server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { engineMetricsText } from "./core/observability/engine-metrics.ts";
import { fleetStatus } from "./core/observability/fleet-status.ts";
import { STATUS_PAGE_HEADERS } from "./core/observability/operator-routes.ts";
import { STATUS_PAGE } from "./core/observability/status-page.ts";
import { attachResponsesWebSocket, type ResponsesWebSockets } from "./dialects/openai/responses-websocket.ts";
import { redactUrl } from "./core/state/open-store.ts";
import { createApp, type Gateway } from "./app.ts";
import type { Config } from "./config.ts";

export interface GatewayServer {
  server: Server;
  gateway: Gateway;
  /** The Responses WebSocket connections upgraded from `server`. */
  websockets: ResponsesWebSockets;
  metricsServer: Server | undefined;
  /** Listens on the configured host and port; resolves to `http://host:port`. */
  listen(): Promise<string>;
  /** Stops accepting, reports not-ready, lets in-flight requests and streams finish for up to
   * `--shutdown-grace`, then closes what is left. */
  drain(): Promise<void>;
}

/** The store could not be reached at start-up. */
export class StoreNotReady extends Error {
  override name = "StoreNotReady";
}

const storeUrl = ({ store }: Config): string =>
  store.kind === "redis" ? store.url : store.kind === "sqlite" ? `sqlite:${store.path}` : "memory:";

export function createGatewayServer(config: Config, log: Logger, clock?: () => number): GatewayServer {
  const gateway = createApp(config, log, clock);
  const headersTimeout = config.clientHeaderTimeoutMs;
  const server = createServer(
    {
      headersTimeout,
      // Node's own floor: requestTimeout must not be below headersTimeout.
      requestTimeout: Math.max(config.clientRequestTimeoutMs, headersTimeout),
      keepAliveTimeout: 65_000,
      // How often Node checks those timeouts (default 30 s would let a short timeout overrun).
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeout / 4))),
    },
    gateway.app.callback(),
  );
  // --metrics-port: the operator's routes (/metrics, /metrics/engine, /status, /status/page), without auth,
  // for a scraper or an operator on a private port.
  const metricsServer =
    config.metricsPort === undefined
      ? undefined
      : createServer((req, res) => {
          const path = req.url?.split("?")[0];
          const send = (type: string) => (text: string) => res.writeHead(200, { "content-type": type }).end(text);
          const failed = (err: Error) => {
            log.warn({ err, path }, "operator route failed");
            res.writeHead(500).end();
          };
          if (req.method !== "GET") return void res.writeHead(405, { allow: "GET" }).end();
          if (path === "/metrics")
            return void gateway.deps.metrics.registry
              .metrics()
              .then(send(gateway.deps.metrics.registry.contentType), failed);
          if (path === "/metrics/engine")
            return void engineMetricsText(gateway.deps.deployments.all).then(
              send("text/plain; version=0.0.4; charset=utf-8"),
              failed,
            );
          if (path === "/status")
            return void fleetStatus(gateway.deps).then(
              (status) =>
                res
                  .writeHead(200, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" })
                  .end(JSON.stringify(status)),
              failed,
            );
          if (path === "/status/page") return void res.writeHead(200, STATUS_PAGE_HEADERS).end(STATUS_PAGE.html);
          res.writeHead(404).end();
        });
  const websockets = attachResponsesWebSocket(server, gateway.deps, {
    maxAgeMs: config.websocketMaxAgeMs,
    maxMessageBytes: config.bodyLimitBytes,
  });
  return {
    server,
    gateway,
    websockets,
    metricsServer,
    listen: async () => {
      // The store answers before the port opens (Redis: connected), or start-up stops naming it.
      await gateway.deps.store
        .ready((attempt, reason) =>
          log.warn(
            { store: redactUrl(storeUrl(config)), attempt, reason },
            `the store does not answer (${reason}); retrying`,
          ),
        )
        .catch((err: Error) => {
          throw new StoreNotReady(`--store ${redactUrl(storeUrl(config))}: cannot reach it (${err.message})`);
        });
      return new Promise<string>((resolve, reject) => {
        metricsServer?.listen(config.metricsPort, config.host);
        server.once("error", reject);
        server.listen(config.port, config.host, config.listenBacklog, () => {
          const { address, port } = server.address() as AddressInfo;
          resolve(`http://${address.includes(":") ? `[${address}]` : address}:${port}`);
        });
      });
    },
    async drain() {
      gateway.deps.lifecycle.draining = true;
      websockets.drain(); // idle connections close now, the others after their response
      metricsServer?.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections become idle as their last response ends; close them as they do.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 100);
      const deadline = setTimeout(() => {
        log.warn("grace period over: closing remaining connections");
        server.closeAllConnections();
        websockets.close();
      }, config.shutdownGraceMs);
      deadline.unref();
      await closed;
      clearInterval(sweep);
      clearTimeout(deadline);
      await gateway.close();
    },
  };
}
