#!/usr/bin/env node
// Entry: loadConfig -> createApp -> listen -> drain on SIGTERM/SIGINT (a second signal exits at once).
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { createApp } from "./app.ts";
import { ConfigError, helpText, loadConfig } from "./config.ts";

/** The package version, from the nearest package.json (src/ under tsx, dist/src/ when built). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  }
  return "unknown";
}
const version = packageVersion();

function main(argv: string[]): void {
  if (argv.includes("--help") || argv.includes("-h")) return void process.stdout.write(helpText(version));
  if (argv.includes("--version") || argv.includes("-V")) return void process.stdout.write(`${version}\n`);
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    const message = err instanceof ConfigError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS") ? (err as Error).message : String(err);
    process.stderr.write(`azure-openai-proxy: ${message}\nTry --help.\n`);
    process.exit(2);
  }
  const log = pino({ level: config.logLevel });
  const gateway = createApp(config, log);
  const server = createServer({ requestTimeout: 60_000, headersTimeout: 20_000, keepAliveTimeout: 65_000 }, gateway.app.callback());
  server.on("error", (err) => {
    log.fatal({ err }, "cannot listen");
    process.exit(1);
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const where = typeof address === "object" && address ? `${address.address}:${address.port}` : String(address);
    log.info({ address: where, upstream: config.upstreamBaseUrl, version }, `listening on ${where}`);
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, "second signal: exiting now");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "draining");
    const deadline = setTimeout(() => {
      log.warn("grace period over: closing remaining connections");
      server.closeAllConnections();
    }, config.shutdownGraceMs);
    deadline.unref();
    server.close(() => {
      clearTimeout(deadline);
      void gateway.close().finally(() => {
        log.info("stopped");
        process.exit(0);
      });
    });
    server.closeIdleConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main(process.argv.slice(2));
