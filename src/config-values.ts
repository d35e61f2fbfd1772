// How option values are read (flags, environment, the deployments file): durations, sizes, booleans,
// integers, the engine's URL, and the one error a bad value raises. Imports nothing from src/.

import { homedir } from "node:os";
import { join } from "node:path";
import { redactUrl, type StoreSpec } from "./core/state/open-store.ts";

export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
export function parseDuration(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!match) throw new ConfigError(`--${name}: '${value}' is not a duration (e.g. 500ms, 30s, 5m)`);
  return Math.round(Number(match[1]) * UNITS[match[2] ?? "ms"]!);
}

const SIZES: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
export function parseSize(name: string, value: string): number {
  const match = /^(\d+)(b|kb|mb|gb)?$/i.exec(value.trim());
  if (!match) throw new ConfigError(`--${name}: '${value}' is not a size (e.g. 32mb)`);
  return Number(match[1]) * SIZES[(match[2] ?? "b").toLowerCase()]!;
}

export function parseBoolean(name: string, value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`--${name}: '${value}' must be true or false`);
}

export function parseInteger(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new ConfigError(`--${name}: '${value}' must be an integer in [${min}, ${max}]`);
  return n;
}

/** `host` (+ optional scheme, port and path) and `port` -> `scheme://host:port/path/v1`. */
export function upstreamBaseUrl(host: string, port: string | undefined): string {
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(host);
  let url: URL;
  try {
    url = new URL(hasScheme ? host : `http://${host}`);
  } catch {
    throw new ConfigError(`--upstream-host: '${host}' is not a host name or URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new ConfigError(`--upstream-host: scheme must be http or https`);
  if (url.username || url.password || url.search || url.hash)
    throw new ConfigError(`--upstream-host: no credentials, query or fragment`);
  if (port !== undefined) url.port = String(parseInteger("upstream-port", port, 1, 65535));
  else if (!hasScheme && !url.port) url.port = "8080";
  const path = url.pathname.replace(/\/+$/, "").replace(/\/v1$/, "");
  return `${url.protocol}//${url.host}${path}/v1`;
}

/** `--files`: `file:<dir>`; unset, a directory beside the default sqlite store. */
export function parseFiles(value: string | undefined, env: Env): string {
  if (value === undefined || value === "") {
    const stateHome = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
    return join(stateHome, "azure-openai-proxy", "files");
  }
  if (value.startsWith("file:") && value.length > "file:".length) return value.slice("file:".length);
  throw new ConfigError(`--files: '${value.slice(0, 100)}' must be file:<dir>`);
}

/** `--store`: `sqlite:<path>`, `memory:`, `redis://…` / `rediss://…`; unset, the sqlite file under the user's
 * state directory. */
export function parseStore(value: string | undefined, env: Env): StoreSpec {
  if (value === undefined || value === "") {
    const stateHome = env.XDG_STATE_HOME || join(homedir(), ".local", "state");
    return { kind: "sqlite", path: join(stateHome, "azure-openai-proxy", "state.db") };
  }
  if (value === "memory:") return { kind: "memory" };
  if (value.startsWith("sqlite:") && value.length > "sqlite:".length)
    return { kind: "sqlite", path: value.slice("sqlite:".length) };
  if (/^rediss?:\/\//.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ConfigError(`--store: '${redactUrl(value).slice(0, 100)}' is not a URL`);
    }
    if (!url.hostname || (url.pathname !== "" && !/^\/\d*$/.test(url.pathname)))
      throw new ConfigError(`--store: '${redactUrl(value).slice(0, 100)}' must be redis://host:port[/db]`);
    return { kind: "redis", url: value };
  }
  throw new ConfigError(
    `--store: '${redactUrl(value).slice(0, 100)}' must be sqlite:<path>, memory: or redis://host:port[/db]`,
  );
}
