// Starts the real gateway (createApp + node:http) on a loopback port in front of a given upstream.
import type { Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import ModelClient from "@azure-rest/ai-inference";
import { AzureKeyCredential } from "@azure/core-auth";
import { pino } from "pino";
import { suite } from "uvu";
import { REDACTED, type Gateway } from "../../src/app.ts";
import { loadConfig } from "../../src/config.ts";
import { createGatewayServer } from "../../src/server.ts";
import { EngineSim } from "../sim/engine.ts";

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  server: Server;
  close(): Promise<void>;
}

/** `logLines`, when given, receives every log line the gateway writes (parsed JSON). */
export async function startGateway(
  upstreamUrl: string,
  args: string[] = [],
  logLines?: Array<Record<string, any>>,
  env: Record<string, string> = {},
  /** What the limits' windows are reckoned by (helpers/clock.ts); the wall clock when absent. */
  clock?: () => number,
): Promise<RunningGateway> {
  // The embedded store of each test gateway is its own (a test that needs sqlite says --store).
  const store = args.includes("--store") ? [] : ["--store", "memory:"];
  const config = loadConfig(
    ["--host", "127.0.0.1", "--port", "0", "--upstream-host", upstreamUrl, "--models-cache", "0", ...store, ...args],
    env,
  );
  const log = logLines
    ? pino(
        { level: "info", redact: { paths: REDACTED, censor: "[redacted]" } },
        { write: (line: string) => void logLines.push(JSON.parse(line)) },
      )
    : pino({ level: "silent" });
  const { server, gateway, listen, metricsServer, websockets } = createGatewayServer(config, log, clock);
  const url = await listen();
  return {
    url,
    gateway,
    server,
    async close() {
      websockets.close();
      server.closeAllConnections();
      metricsServer?.closeAllConnections();
      await Promise.all(
        [server, ...(metricsServer ? [metricsServer] : [])].map(
          (s) => new Promise<void>((resolve) => s.close(() => resolve())),
        ),
      );
      await gateway.close();
    },
  };
}

/** The real Azure JS client, as the docs show it, against an http:// loopback gateway. */
export function azureClient(url: string, key = "test-key", apiVersion = "2025-04-01") {
  return ModelClient(url, new AzureKeyCredential(key), {
    allowInsecureConnection: true,
    apiVersion,
    retryOptions: { maxRetries: 0 },
  });
}

export const API = "api-version=2025-04-01";

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, json };
}

export interface GatewayContext {
  sim: EngineSim;
  gw: RunningGateway;
  /** The gateway's log lines (parsed JSON), since the test began. */
  logs: Array<Record<string, any>>;
}

/** A uvu suite with an engine simulator and the gateway in front of it, started once and closed after;
 * the simulator's script and records and the log lines are reset before each test. `gatewayArgs` may be
 * built from the simulator (a deployments file naming its URL). */
export function gatewaySuite<Extra extends object = {}>(
  name: string,
  gatewayArgs: string[] | ((sim: EngineSim) => string[]) = [],
  env: Record<string, string> = {},
) {
  const test = suite<GatewayContext & Extra>(name);
  test.before(async (ctx) => {
    ctx.sim = await new EngineSim().start();
    ctx.logs = [];
    const args = typeof gatewayArgs === "function" ? gatewayArgs(ctx.sim) : gatewayArgs;
    ctx.gw = await startGateway(ctx.sim.url, args, ctx.logs, env);
  });
  test.after(async (ctx) => {
    await ctx.gw.close();
    await ctx.sim.close();
  });
  test.before.each((ctx) => {
    ctx.sim.reset();
    ctx.logs.length = 0;
  });
  return test;
}

/** A loopback port nothing listens on (a moment ago): for a second server, or an engine that is not there. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `count` log lines match; a generous bound turns a line that never comes into a failure, not
 * a hang. */
export async function logged(
  logs: Array<Record<string, any>>,
  match: (line: Record<string, any>) => boolean,
  count = 1,
): Promise<Array<Record<string, any>>> {
  const deadline = Date.now() + 30_000;
  while (logs.filter(match).length < count) {
    if (Date.now() > deadline) throw new Error(`fewer than ${count} matching log lines within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return logs.filter(match);
}

/** Polls `url` until it answers `status`; resolves to the milliseconds that took, rejects after `withinMs`. */
export async function untilStatus(url: string, status: number, withinMs = 3000): Promise<number> {
  const started = Date.now();
  let last = 0;
  while (Date.now() - started < withinMs) {
    last = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (last === status) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} answered ${last}, not ${status}, for ${withinMs} ms`);
}
