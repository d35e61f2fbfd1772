// CLI flags and environment variables -> one frozen Config, checked once at start-up.
// Same flags as the Rust original (--host, --port, --upstream-host, --upstream-port, --upstream-type),
// with its clashing short flags removed and the missing knobs added.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { tracingConfigured } from "./core/observability/tracing.ts";
import { type DeploymentsFile, flagsDeployment, loadDeploymentsFile } from "./core/deployments/config-file.ts";
import type { StoreSpec } from "./core/state/open-store.ts";
import { registerSecret } from "./core/secrets.ts";
import {
  ConfigError,
  type Env,
  parseBoolean,
  parseDuration,
  parseFiles,
  parseInteger,
  parseSize,
  parseStore,
  upstreamBaseUrl,
} from "./config-values.ts";

export type UpstreamType = "chat-completions" | "embeddings";

export interface Config {
  host: string;
  port: number;
  /** Base URL of the engine's OpenAI API, always ending in `/v1`. */
  upstreamBaseUrl: string;
  upstreamType: UpstreamType;
  upstreamApiKey: string | undefined;
  /** Inbound keys; empty means no inbound auth. */
  apiKeys: readonly string[];
  connectTimeoutMs: number;
  firstByteTimeoutMs: number;
  idleTimeoutMs: number;
  totalTimeoutMs: number;
  bodyLimitBytes: number;
  clientHeaderTimeoutMs: number;
  clientRequestTimeoutMs: number;
  maxConcurrent: number;
  queueTimeoutMs: number;
  modelsCacheMs: number;
  shutdownGraceMs: number;
  logLevel: string;
  logBodies: boolean;
  metricsPort: number | undefined;
  /** Processes serving the port (node:cluster); 1 = no cluster. */
  workers: number;
  /** OTLP tracing, from the standard OTEL_* variables. */
  tracing: boolean;
  /** --config: several engines, each under its deployment name; undefined: the one engine of the flags. */
  /** Deployments /ready requires (empty: any one). */
  readyRequires: readonly string[];
  listenBacklog: number;
  /** /health fails when an engine that was ready has been unavailable this long (0: never). */
  engineLivenessMs: number;
  /** Seals compaction items (32 bytes); undefined: a random key of this process. */
  compactionKey: Buffer | undefined;
  /** Replaces the compaction prompt. */
  compactionPrompt: string | undefined;
  /** How long a Responses WebSocket connection may stay open. */
  websocketMaxAgeMs: number;
  /** How often every engine is asked whether it serves (0: only on demand). */
  engineChecksMs: number;
  store: StoreSpec;
  storeTtlMs: number;
  /** The Files API's bytes: a directory. */
  filesDir: string;
  fileSizeLimitBytes: number;
  /** A background run's lease: its runner renews it; past it the run is reported failed (its process is gone). */
  runLeaseMs: number;
  /** The deployments file, or the flags' engine as its one deployment. */
  deployments: DeploymentsFile;
  /** The --config file, if any, and how to read it again (config-reload.ts), with the start-up environment. */
  configFile: { path: string; read(): DeploymentsFile } | undefined;
}

interface Option {
  env: string;
  default?: string;
  help: string;
}

/** Every flag, its environment variable and default: the single source for parsing and --help. */
export const OPTIONS = {
  host: { env: "HOST", default: "0.0.0.0", help: "address the gateway listens on" },
  port: { env: "PORT", default: "80", help: "port the gateway listens on" },
  "upstream-host": {
    env: "UPSTREAM_HOST",
    default: "127.0.0.1",
    help: "engine host; may carry a scheme and path (https://api.openai.com)",
  },
  "upstream-port": {
    env: "UPSTREAM_PORT",
    help: "engine port (default 8080, or the scheme's port when --upstream-host has a scheme)",
  },
  "upstream-type": {
    env: "UPSTREAM_TYPE",
    default: "chat-completions",
    help: "what the engine serves: chat-completions | embeddings (reported by /info)",
  },
  "upstream-api-key": { env: "UPSTREAM_API_KEY", help: "sent to the engine as Authorization: Bearer" },
  "api-key": { env: "API_KEY", help: "inbound key(s), comma-separated; when set every route but /health needs one" },
  "connect-timeout": { env: "CONNECT_TIMEOUT", default: "10s", help: "upstream connect timeout" },
  "first-byte-timeout": { env: "FIRST_BYTE_TIMEOUT", default: "300s", help: "upstream time to response headers" },
  "idle-timeout": { env: "IDLE_TIMEOUT", default: "120s", help: "upstream silence allowed between body chunks" },
  "total-timeout": { env: "TOTAL_TIMEOUT", default: "1800s", help: "upstream request end to end, streams included" },
  "client-header-timeout": {
    env: "CLIENT_HEADER_TIMEOUT",
    default: "20s",
    help: "time a client gets to send its request headers (slow-loris guard)",
  },
  "client-request-timeout": {
    env: "CLIENT_REQUEST_TIMEOUT",
    default: "60s",
    help: "time a client gets to send its whole request, body included",
  },
  "body-limit": { env: "BODY_LIMIT", default: "32mb", help: "largest request body accepted (base64 images need room)" },
  "max-concurrent": { env: "MAX_CONCURRENT", default: "0", help: "requests in flight before 429 (0 = no cap)" },
  "queue-timeout": {
    env: "QUEUE_TIMEOUT",
    default: "5s",
    help: "how long a request past --max-concurrent (or a deployment's max_concurrent) waits for a slot before its 429 (0 = refuse at once)",
  },
  "models-cache": { env: "MODELS_CACHE", default: "30s", help: "how long the engine's /v1/models answer is reused" },
  "shutdown-grace": { env: "SHUTDOWN_GRACE", default: "30s", help: "time given to in-flight requests on SIGTERM" },
  "log-bodies": {
    env: "LOG_BODIES",
    default: "false",
    help: "log request and response bodies (prompts!): true | false",
  },
  "metrics-port": { env: "METRICS_PORT", help: "also serve /metrics, without auth, on this port" },
  store: {
    env: "STORE",
    help: "where stored responses, runs and conversations live: sqlite:<path> (default: $XDG_STATE_HOME or ~/.local/state, azure-openai-proxy/state.db) | memory: | redis://[:password@]host:port[/db] (rediss:// for TLS; shared by every gateway)",
  },
  "ready-requires": {
    env: "READY_REQUIRES",
    help: "deployments that must be ready for /ready (comma-separated; default: any one of them)",
  },
  "compaction-key": {
    env: "COMPACTION_KEY",
    help: "the key that seals compaction items (32 bytes, base64 or 64 hex digits; the same on every replica); unset: a key of this process, so its items do not outlive it",
  },
  "compaction-prompt": {
    env: "COMPACTION_PROMPT",
    help: "what the model is asked to write when POST /responses/compact summarises a conversation (default: docs/state.md#compaction)",
  },
  "websocket-max-age": {
    env: "WEBSOCKET_MAX_AGE",
    default: "60m",
    help: "how long a Responses WebSocket connection may stay open before websocket_connection_limit_reached (Azure: 60 minutes)",
  },
  "engine-checks": {
    env: "ENGINE_CHECKS",
    default: "1s",
    help: "how often every engine (each replica) is asked whether it serves; a change of state is one log line (0 = only when /ready asks or a request fails)",
  },
  "engine-liveness": {
    env: "ENGINE_LIVENESS",
    default: "0",
    help: "fail /health when an engine that was ready has not answered for this long (engine images; 0 = never)",
  },
  "listen-backlog": {
    env: "LISTEN_BACKLOG",
    default: "4096",
    help: "connections the kernel queues before the gateway accepts them",
  },
  files: {
    env: "FILES",
    help: "where the Files API keeps uploaded bytes: file:<dir> (default: beside the sqlite store, azure-openai-proxy/files)",
  },
  "file-size-limit": {
    env: "FILE_SIZE_LIMIT",
    default: "200mb",
    help: "largest file the Files API accepts (Azure: 200 MB)",
  },
  "store-ttl": {
    env: "STORE_TTL",
    default: "720h",
    help: "how long a stored response or conversation is kept (Azure: 30 days)",
  },
  "run-lease": {
    env: "RUN_LEASE",
    default: "30s",
    help: "how long a background run outlives the gateway process running it before it is reported failed",
  },
  workers: { env: "WORKERS", default: "1", help: "processes sharing the port: a number, or auto (one per core)" },
  "log-level": { env: "LOG_LEVEL", default: "info", help: "fatal | error | warn | info | debug | trace | silent" },
  config: {
    env: "CONFIG",
    help: "deployments file (YAML or JSON): several engines behind one endpoint, by deployment name; replaces --upstream-*",
  },
} satisfies Record<string, Option>;

export type OptionName = keyof typeof OPTIONS;

export function loadConfig(argv: string[], env: Env): Config {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  });
  const get = (name: OptionName): string | undefined => {
    const option: Option = OPTIONS[name];
    return (values[name] as string | undefined) ?? env[option.env] ?? option.default;
  };
  const upstreamType = get("upstream-type");
  if (upstreamType !== "chat-completions" && upstreamType !== "embeddings") {
    throw new ConfigError(`--upstream-type: '${upstreamType}' must be chat-completions or embeddings`);
  }
  const levels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  const logLevel = get("log-level")!;
  if (!levels.includes(logLevel))
    throw new ConfigError(`--log-level: '${logLevel}' must be one of ${levels.join(", ")}`);
  const apiKeys = (get("api-key") ?? "")
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  const flagsBaseUrl = upstreamBaseUrl(get("upstream-host")!, get("upstream-port"));
  const flags = flagsDeployment(flagsBaseUrl, get("upstream-api-key") || undefined);
  const configPath = get("config");
  const readFile = () => deploymentsOf(loadDeploymentsFile(configPath!, env), flags);
  return Object.freeze({
    host: get("host")!,
    port: parseInteger("port", get("port")!, 0, 65535),
    upstreamBaseUrl: flagsBaseUrl,
    upstreamType,
    upstreamApiKey: get("upstream-api-key") || undefined,
    apiKeys: Object.freeze(apiKeys),
    connectTimeoutMs: parseDuration("connect-timeout", get("connect-timeout")!),
    firstByteTimeoutMs: parseDuration("first-byte-timeout", get("first-byte-timeout")!),
    idleTimeoutMs: parseDuration("idle-timeout", get("idle-timeout")!),
    totalTimeoutMs: parseDuration("total-timeout", get("total-timeout")!),
    bodyLimitBytes: parseSize("body-limit", get("body-limit")!),
    clientHeaderTimeoutMs: parseDuration("client-header-timeout", get("client-header-timeout")!),
    clientRequestTimeoutMs: parseDuration("client-request-timeout", get("client-request-timeout")!),
    maxConcurrent: parseInteger("max-concurrent", get("max-concurrent")!, 0, 1_000_000),
    queueTimeoutMs: parseDuration("queue-timeout", get("queue-timeout")!),
    modelsCacheMs: parseDuration("models-cache", get("models-cache")!),
    shutdownGraceMs: parseDuration("shutdown-grace", get("shutdown-grace")!),
    logLevel,
    logBodies: parseBoolean("log-bodies", get("log-bodies")!),
    tracing: tracingConfigured(env),
    workers: get("workers") === "auto" ? availableParallelism() : parseInteger("workers", get("workers")!, 1, 256),
    metricsPort: get("metrics-port") ? parseInteger("metrics-port", get("metrics-port")!, 0, 65535) : undefined,
    readyRequires: Object.freeze(
      (get("ready-requires") ?? "")
        .split(",")
        .map((n) => n.trim())
        .filter(Boolean),
    ),
    listenBacklog: parseInteger("listen-backlog", get("listen-backlog")!, 1, 1_000_000),
    engineLivenessMs: parseDuration("engine-liveness", get("engine-liveness")!),
    engineChecksMs: parseDuration("engine-checks", get("engine-checks")!),
    compactionKey: get("compaction-key") ? parseKey("compaction-key", get("compaction-key")!) : undefined,
    compactionPrompt: get("compaction-prompt") || undefined,
    websocketMaxAgeMs: positive("websocket-max-age", parseDuration("websocket-max-age", get("websocket-max-age")!)),
    store: parseStore(get("store"), env),
    storeTtlMs: parseDuration("store-ttl", get("store-ttl")!),
    filesDir: parseFiles(get("files"), env),
    fileSizeLimitBytes: parseSize("file-size-limit", get("file-size-limit")!),
    runLeaseMs: positive("run-lease", parseDuration("run-lease", get("run-lease")!)),
    deployments: deploymentsOf(configPath ? readFile() : undefined, flags),
    configFile: configPath ? { path: configPath, read: readFile } : undefined,
  });
}

/** The file's deployments, else the flags' engine (a file may declare only consumers). */
function deploymentsOf(file: DeploymentsFile | undefined, flags: DeploymentsFile): DeploymentsFile {
  if (!file) return flags;
  if (file.deployments.length > 0) return file;
  return file.access ? { ...flags, access: file.access } : flags;
}

export function helpText(version: string): string {
  const width = Math.max(...Object.keys(OPTIONS).map((name) => `  --${name} <value>`.length)) + 2;
  const lines = Object.entries(OPTIONS).map(([name, o]: [string, Option]) => {
    const flag = `  --${name} <value>`.padEnd(width);
    const dflt = o.default !== undefined ? ` [default: ${o.default}]` : "";
    return `${flag}${o.help} (env ${o.env})${dflt}`;
  });
  return [
    `azure-openai-proxy ${version}`,
    "Serves Azure's APIs (AI Model Inference, Azure OpenAI v1 and deployments) and the engine's own /v1 API in front of an OpenAI-compatible engine.",
    "",
    "Usage: azure-openai-proxy [options]",
    "",
    "Options:",
    ...lines,
    `${"  -h, --help".padEnd(width)}print this help`,
    `${"  -V, --version".padEnd(width)}print the version`,
    "",
  ].join("\n");
}

/** A duration that must be more than nothing (a lease of 0 would end every run at once). */
/** A 32-byte key, as base64 or 64 hex digits. */
function parseKey(name: string, value: string): Buffer {
  const key = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
  if (key.length !== 32)
    throw new ConfigError(
      `--${name}: 32 bytes, as base64 (44 characters) or 64 hex digits (e.g. openssl rand -base64 32)`,
    );
  registerSecret(value);
  return key;
}

function positive(name: string, ms: number): number {
  if (ms <= 0) throw new ConfigError(`--${name}: must be more than 0`);
  return ms;
}
