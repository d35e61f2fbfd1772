// The deployments file (--config, YAML or JSON): several engines behind one endpoint, each under the
// name clients use. Checked whole at start-up; every error names the file, the line and the key.
//
//   default: chat                       # optional: the deployment for requests that name none
//   deployments:
//     - name: chat                      # what clients send as `model`, in /openai/deployments/{name},
//       url: http://127.0.0.1:8000      #   or as azureml-model-deployment
//                                       # or urls: [http://a:8000, http://b:8000]: replicas of one model
//       model: Qwen/Qwen2.5-7B-Instruct # optional: the engine's model name (else from its /v1/models)
//       api_key_env: CHAT_ENGINE_KEY    # optional: the variable holding the engine's key (never inline)
//       operations: [chat, responses]   # optional: else every operation the engine answers
//       timeouts: { first_byte: 600s }  # optional: connect, first_byte, idle, total
//       max_concurrent: 64              # optional: requests in flight before 429
//       responses_api: chat             # optional: native | chat (served over chat completions); default:
//                                       #   native, and chat once the engine answers /v1/responses 404
//       routing: prefix                 # optional, with urls: prefix (default) | least-loaded
//       engine_metrics: 1s              # optional: how often each engine's /metrics is read
//                                       #   for its queue and KV load (default 1s; off: never)
import { readFileSync } from "node:fs";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { ConfigError, type Env, parseDuration, upstreamBaseUrl } from "../../config-values.ts";
import { type AccessSpec, type Limits, parseConsumers, parseEntra, parseLimits } from "../consumers/consumers-file.ts";
import { ROUTING_POLICIES, type RoutingPolicy } from "../routing/router.ts";

export const OPERATIONS = ["chat", "completions", "embeddings", "image-embeddings", "responses"] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface DeploymentTimeouts {
  connectMs?: number;
  firstByteMs?: number;
  idleMs?: number;
  totalMs?: number;
}

export interface DeploymentSpec {
  /** Undefined for the flags' one engine, which goes by the model names its engine serves. */
  name: string | undefined;
  /** The engines' OpenAI base URLs (replicas of one model), each ending in /v1. */
  baseUrls: readonly string[];
  model?: string;
  apiKey?: string;
  /** Declared operations; undefined: whatever the engine answers. */
  operations?: readonly Operation[];
  timeouts: DeploymentTimeouts;
  maxConcurrent?: number;
  /** How the Responses API is served; undefined: the engine's, or over chat once it answers 404. */
  responsesApi?: ResponsesApi;
  /** The deployment's own capacity, shared by every consumer (requests and tokens per minute). */
  limits?: Limits;
  /** How a replica is chosen (core/routing/router.ts); undefined: prefix. */
  routing?: RoutingPolicy;
  /** Milliseconds between reads of each replica's /metrics; 0: never read; undefined: the default. */
  engineMetricsMs?: number;
}

/** How often a replica's /metrics is read when the file does not say. */
export const ENGINE_METRICS_MS = 1000;

export const RESPONSES_APIS = ["native", "chat"] as const;
export type ResponsesApi = (typeof RESPONSES_APIS)[number];

export interface DeploymentsFile {
  /** Empty when the file declares only consumers: the flags' engine is then the one deployment. */
  deployments: readonly DeploymentSpec[];
  defaultName?: string;
  /** Consumers and Entra ID (core/consumers); undefined: `--api-key` alone, if set. */
  access?: AccessSpec;
}

/** The flags' engine (--upstream-*) as the one deployment of a gateway without --config. */
export function flagsDeployment(baseUrl: string, apiKey: string | undefined): DeploymentsFile {
  return { deployments: [{ name: undefined, baseUrls: [baseUrl], ...(apiKey ? { apiKey } : {}), timeouts: {} }] };
}

const TIMEOUT_KEYS = { connect: "connectMs", first_byte: "firstByteMs", idle: "idleMs", total: "totalMs" } as const;
const DEPLOYMENT_KEYS = [
  "name",
  "url",
  "urls",
  "model",
  "api_key_env",
  "operations",
  "timeouts",
  "max_concurrent",
  "responses_api",
  "limits",
  "routing",
  "engine_metrics",
];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/;

export function loadDeploymentsFile(file: string, env: Env): DeploymentsFile {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`--config: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
  }
  return parseDeploymentsFile(text, file, env);
}

export function parseDeploymentsFile(text: string, file: string, env: Env): DeploymentsFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const at = (node: Node | null | undefined) => (node?.range ? `${file}:${lines.linePos(node.range[0]).line}` : file);
  const fail = (node: Node | null | undefined, message: string): never => {
    throw new ConfigError(`--config: ${at(node)}: ${message}`);
  };
  const [syntax] = doc.errors;
  if (syntax)
    throw new ConfigError(`--config: ${file}:${lines.linePos(syntax.pos[0]).line}: ${syntax.message.split("\n")[0]}`);
  const root = doc.contents;
  if (!isMap(root)) return fail(root, "the file must be a mapping with a `deployments` list");

  let list: Node | undefined;
  let defaultName: string | undefined;
  let defaultNode: Node | undefined;
  let consumers: Node | undefined;
  let entra: Node | undefined;
  let failClosed = false;
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (key === "deployments") list = pair.value as Node;
    else if (key === "default") {
      defaultNode = pair.value as Node;
      defaultName = stringOf(pair.value as Node, "default", fail);
    } else if (key === "consumers") consumers = pair.value as Node;
    else if (key === "entra") entra = pair.value as Node;
    else if (key === "fail_closed") {
      const value = isScalar(pair.value) ? pair.value.value : undefined;
      if (typeof value !== "boolean") fail(pair.value as Node, "fail_closed: true or false");
      failClosed = value as boolean;
    } else
      fail(pair.key as Node, `unknown key '${key}' (expected deployments, default, consumers, entra, fail_closed)`);
  }
  const access: AccessSpec | undefined =
    consumers || entra
      ? {
          consumers: consumers ? parseConsumers(consumers, fail, env) : [],
          ...(entra ? { entra: parseEntra(entra, fail) } : {}),
          failClosed,
        }
      : undefined;
  if (access?.consumers.some((c) => c.entra) && !access.entra)
    fail(consumers, "a consumer maps Entra ID tokens, but the file has no `entra:` (tenant_id, audiences)");
  if (list === undefined && access) {
    if (defaultName !== undefined) fail(defaultNode, "default names a deployment, but the file declares none");
    return { deployments: [], access };
  }
  if (!isSeq(list) || list.items.length === 0) return fail(list ?? root, "`deployments` must be a non-empty list");

  const deployments: DeploymentSpec[] = [];
  const seen = new Map<string, Node>();
  for (const item of list.items as Node[]) {
    if (!isMap(item)) fail(item, "each deployment is a mapping with at least `name` and `url`");
    const map = item as unknown as import("yaml").YAMLMap<Node, Node>;
    const get = (key: string) => map.items.find((p) => isScalar(p.key) && p.key.value === key)?.value ?? undefined;
    for (const pair of map.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (!DEPLOYMENT_KEYS.includes(key))
        fail(pair.key, `unknown key '${key}' (expected ${DEPLOYMENT_KEYS.join(", ")})`);
    }
    const nameNode = get("name");
    if (!nameNode) fail(item, "a deployment needs a `name`");
    const name = stringOf(nameNode!, "name", fail);
    if (!NAME.test(name)) fail(nameNode, `name '${name}': letters, digits and . _ : / - only, at most 128`);
    if (seen.has(name))
      fail(nameNode, `the name '${name}' is used twice (also at line ${at(seen.get(name)).split(":").at(-1)})`);
    seen.set(name, nameNode!);

    const urlNode = get("url");
    const urlsNode = get("urls");
    if (urlNode && urlsNode) fail(urlsNode, `deployment '${name}': \`url\` or \`urls\`, not both`);
    if (!urlNode && !urlsNode)
      fail(
        item,
        `deployment '${name}' needs a \`url\` (the engine, e.g. http://127.0.0.1:8000) or \`urls\` (replicas)`,
      );
    if (urlsNode && (!isSeq(urlsNode) || urlsNode.items.length === 0))
      fail(urlsNode, "urls: a non-empty list of engine URLs (replicas of one model)");
    const urlNodes = urlNode ? [urlNode] : (urlsNode as unknown as { items: Node[] }).items;
    const baseUrls = urlNodes.map((node) => {
      const url = stringOf(node, "url", fail);
      if (!/^https?:\/\//i.test(url)) fail(node, `url '${url}' must start with http:// or https://`);
      try {
        return upstreamBaseUrl(url, undefined);
      } catch (err) {
        return fail(node, `url '${url}': ${(err as Error).message.replace(/^--upstream-host: /, "")}`);
      }
    });
    const twice = baseUrls.find((u, i) => baseUrls.indexOf(u) !== i);
    if (twice) fail(urlsNode, `urls: ${twice} is listed twice`);
    const spec: DeploymentSpec = { name, baseUrls, timeouts: {} };
    const model = get("model");
    if (model) spec.model = stringOf(model, "model", fail);
    const keyEnv = get("api_key_env");
    if (keyEnv) {
      const variable = stringOf(keyEnv, "api_key_env", fail);
      const value = env[variable];
      if (!value)
        fail(
          keyEnv,
          `api_key_env names ${variable}, which is not set (the engine key is read from it, never from the file)`,
        );
      spec.apiKey = value;
    }
    const ops = get("operations");
    if (ops) {
      if (!isSeq(ops) || ops.items.length === 0) fail(ops, `operations: a non-empty list of ${OPERATIONS.join(", ")}`);
      spec.operations = (ops as unknown as { items: Node[] }).items.map((op) => {
        const value = stringOf(op, "operations", fail);
        if (!(OPERATIONS as readonly string[]).includes(value))
          fail(op, `operation '${value}' is none of ${OPERATIONS.join(", ")}`);
        return value as Operation;
      });
    }
    const timeouts = get("timeouts");
    if (timeouts) {
      if (!isMap(timeouts)) fail(timeouts, `timeouts: a mapping of ${Object.keys(TIMEOUT_KEYS).join(", ")}`);
      for (const pair of (timeouts as unknown as import("yaml").YAMLMap<Node, Node>).items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "";
        if (!(key in TIMEOUT_KEYS))
          fail(pair.key, `unknown timeout '${key}' (expected ${Object.keys(TIMEOUT_KEYS).join(", ")})`);
        try {
          spec.timeouts[TIMEOUT_KEYS[key as keyof typeof TIMEOUT_KEYS]] = parseDuration(
            `timeouts.${key}`,
            stringOf(pair.value!, key, fail),
          );
        } catch (err) {
          fail(pair.value, (err as Error).message.replace(/^--/, ""));
        }
      }
    }
    const cap = get("max_concurrent");
    if (cap) {
      const value = isScalar(cap) ? cap.value : undefined;
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
        fail(cap, "max_concurrent: a whole number of requests, at least 1");
      spec.maxConcurrent = value as number;
    }
    const responsesApi = get("responses_api");
    if (responsesApi) {
      const value = stringOf(responsesApi, "responses_api", fail);
      if (!(RESPONSES_APIS as readonly string[]).includes(value))
        fail(responsesApi, `responses_api: ${RESPONSES_APIS.join(" or ")} (unset: native, else chat after a 404)`);
      spec.responsesApi = value as ResponsesApi;
    }
    const routing = get("routing");
    if (routing) {
      const value = stringOf(routing, "routing", fail);
      if (!(ROUTING_POLICIES as readonly string[]).includes(value))
        fail(routing, `routing: ${ROUTING_POLICIES.join(" or ")} (unset: prefix)`);
      spec.routing = value as RoutingPolicy;
    }
    const metrics = get("engine_metrics");
    if (metrics) {
      const value = stringOf(metrics, "engine_metrics", fail);
      if (value === "off") spec.engineMetricsMs = 0;
      else
        try {
          spec.engineMetricsMs = parseDuration("engine_metrics", value);
        } catch (err) {
          fail(metrics, `${(err as Error).message.replace(/^--/, "")} (or off)`);
        }
      if (spec.engineMetricsMs !== undefined && spec.engineMetricsMs > 0 && spec.engineMetricsMs < 100)
        fail(metrics, "engine_metrics: at least 100ms (or off)");
    }
    const limits = get("limits");
    if (limits) spec.limits = parseLimits(limits, fail, ["requests_per_minute", "tokens_per_minute"]);
    deployments.push(spec);
  }
  if (defaultName !== undefined && !seen.has(defaultName))
    fail(defaultNode, `default '${defaultName}' names no deployment (${[...seen.keys()].join(", ")})`);
  for (const consumer of access?.consumers ?? [])
    for (const name of consumer.deployments ?? [])
      if (!seen.has(name)) fail(consumers, `consumer '${consumer.name}' allows '${name}', which is no deployment here`);
  return { deployments, ...(defaultName !== undefined ? { defaultName } : {}), ...(access ? { access } : {}) };
}

function stringOf(node: Node, key: string, fail: (node: Node, message: string) => never): string {
  if (
    !isScalar(node) ||
    (typeof node.value !== "string" && typeof node.value !== "number") ||
    String(node.value) === ""
  )
    fail(node, `${key}: a non-empty string`);
  return String((node as { value: unknown }).value);
}
