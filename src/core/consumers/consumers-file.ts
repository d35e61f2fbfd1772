// The `consumers:` and `entra:` parts of the --config file (issue 26): who may call the gateway, under which
// name, with which limits. Checked whole when the file is read; every error names the line.
//
//   entra:                                   # optional: Microsoft Entra ID bearer tokens
//     tenant_id: "<tenant guid>"
//     audiences: ["api://azure-openai-proxy"]
//     # openid_configuration: <url>          # default: the tenant's v2.0 configuration
//     # jwks_refetch_cooldown: 30s           # an unknown key id fetches the keys again at most this often
//   fail_closed: false                       # limits when the store fails: refuse (true) or let through
//   consumers:
//     - name: team-a                         # in logs, metrics, usage; owns its stored responses
//       keys_env: [TEAM_A_KEY, TEAM_A_KEY_NEXT]   # or key_sha256: [<hex>]
//       deployments: [chat]                  # optional allow-list
//       limits: { requests_per_minute: 600, tokens_per_minute: 200000, tokens_per_day: 5000000,
//                 tokens_per_month: 100000000, max_parallel: 16 }
//     - name: analytics
//       entra: { app_ids: ["<client id>"] }  # or roles: [...], object_ids: [...]
import { createHash } from "node:crypto";
import { isMap, isSeq, type Node } from "yaml";
import { type Env, parseDuration } from "../../config-values.ts";
import { registerSecret } from "../secrets.ts";

export interface Limits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  tokensPerDay?: number;
  tokensPerMonth?: number;
  maxParallel?: number;
}

export interface ConsumerSpec {
  name: string;
  /** SHA-256 digests of its keys (never the keys). */
  keyDigests: Buffer[];
  entra?: { appIds: string[]; roles: string[]; objectIds: string[] };
  /** Allow-list of deployment names; undefined: all. */
  deployments?: string[];
  limits: Limits;
}

export interface EntraSpec {
  tenantId: string;
  audiences: string[];
  openidConfiguration: string;
  /** The least time between two fetches of the keys (an unknown `kid` asks again only after it). */
  jwksRefetchCooldownMs: number;
}

export interface AccessSpec {
  consumers: ConsumerSpec[];
  entra?: EntraSpec;
  /** Limits refuse when the store fails (default: they let requests through, with a warning). */
  failClosed: boolean;
}

export type Fail = (node: Node | null | undefined, message: string) => never;

const LIMIT_KEYS: Record<string, keyof Limits> = {
  requests_per_minute: "requestsPerMinute",
  tokens_per_minute: "tokensPerMinute",
  tokens_per_day: "tokensPerDay",
  tokens_per_month: "tokensPerMonth",
  max_parallel: "maxParallel",
};
const ENTRA_KEYS = ["tenant_id", "audiences", "openid_configuration", "jwks_refetch_cooldown"];
const CONSUMER_KEYS = ["name", "keys_env", "key_sha256", "entra", "deployments", "limits"];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export const sha256 = (value: string): Buffer => createHash("sha256").update(value).digest();

/** A node's value as plain data (YAML or JSON). */
const plain = (node: Node | undefined): unknown => (node as { toJSON?: () => unknown })?.toJSON?.() ?? undefined;

/** `limits:` of a consumer or a deployment: whole numbers of at least 1. */
export function parseLimits(node: Node | undefined, fail: Fail, allowed = Object.keys(LIMIT_KEYS)): Limits {
  if (node === undefined) return {};
  if (!isMap(node)) return fail(node, `limits: a mapping of ${allowed.join(", ")}`);
  const limits: Limits = {};
  for (const [key, value] of Object.entries(plain(node) as Record<string, unknown>)) {
    if (!allowed.includes(key)) fail(node, `unknown limit '${key}' (expected ${allowed.join(", ")})`);
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1)
      fail(node, `limits.${key}: a whole number, at least 1`);
    limits[LIMIT_KEYS[key]!] = value as number;
  }
  return limits;
}

const strings = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === "string" && v !== "");

export function parseEntra(node: Node, fail: Fail): EntraSpec {
  if (!isMap(node)) return fail(node, "entra: a mapping with tenant_id and audiences");
  const value = plain(node) as Record<string, unknown>;
  for (const key of Object.keys(value))
    if (!ENTRA_KEYS.includes(key)) fail(node, `entra: unknown key '${key}' (expected ${ENTRA_KEYS.join(", ")})`);
  const tenantId = value.tenant_id;
  if (typeof tenantId !== "string" || !/^[0-9a-f-]{36}$/i.test(tenantId))
    fail(node, "entra.tenant_id: the directory (tenant) id, a GUID");
  if (!strings(value.audiences))
    fail(node, "entra.audiences: a non-empty list of the audiences tokens must be for (api://…)");
  const openidConfiguration =
    value.openid_configuration ?? `https://login.microsoftonline.com/${tenantId}/v2.0/.well-known/openid-configuration`;
  if (typeof openidConfiguration !== "string" || !/^https?:\/\//.test(openidConfiguration))
    fail(node, "entra.openid_configuration: an http(s) URL");
  let jwksRefetchCooldownMs = 30_000;
  if (value.jwks_refetch_cooldown !== undefined) {
    try {
      jwksRefetchCooldownMs = parseDuration("entra.jwks_refetch_cooldown", String(value.jwks_refetch_cooldown));
    } catch (err) {
      fail(node, (err as Error).message.replace(/^--/, ""));
    }
  }
  return {
    tenantId: tenantId as string,
    audiences: value.audiences as string[],
    openidConfiguration: openidConfiguration as string,
    jwksRefetchCooldownMs,
  };
}

export function parseConsumers(list: Node, fail: Fail, env: Env): ConsumerSpec[] {
  if (!isSeq(list)) return fail(list, "consumers: a list of consumers, each with a name and keys or entra");
  const seen = new Set<string>();
  const digests = new Map<string, string>();
  /** Who lists each Entra app id, object id and role: a token must map to one consumer by each rule. */
  const entraOwners = new Map<string, string>();
  return (list.items as Node[]).map((item) => {
    if (!isMap(item)) fail(item, "each consumer is a mapping with a name and keys_env, key_sha256 or entra");
    const value = plain(item) as Record<string, unknown>;
    const node = (key: string) =>
      (item as unknown as import("yaml").YAMLMap<Node, Node>).items.find(
        (pair) => (pair.key as { value?: unknown })?.value === key,
      )?.value ?? undefined;
    for (const key of Object.keys(value))
      if (!CONSUMER_KEYS.includes(key)) fail(item, `unknown key '${key}' (expected ${CONSUMER_KEYS.join(", ")})`);
    const name = value.name;
    if (typeof name !== "string" || !NAME.test(name))
      fail(item, "a consumer needs a `name`: letters, digits and . _ - only, at most 64");
    if (seen.has(name as string)) fail(item, `the consumer name '${name}' is used twice`);
    seen.add(name as string);

    const keyDigests: Buffer[] = [];
    if (value.keys_env !== undefined) {
      if (!strings(value.keys_env)) fail(node("keys_env"), "keys_env: a list of environment variable names");
      for (const variable of value.keys_env as string[]) {
        const key = env[variable];
        if (!key)
          fail(
            node("keys_env"),
            `keys_env names ${variable}, which is not set (keys are read from it, never from the file)`,
          );
        registerSecret(key!);
        keyDigests.push(sha256(key!));
      }
    }
    if (value.key_sha256 !== undefined) {
      if (!strings(value.key_sha256) || !(value.key_sha256 as string[]).every((h) => /^[0-9a-f]{64}$/i.test(h)))
        fail(node("key_sha256"), "key_sha256: a list of SHA-256 digests of keys, 64 hex digits each");
      for (const hex of value.key_sha256 as string[]) keyDigests.push(Buffer.from(hex, "hex"));
    }
    for (const digest of keyDigests) {
      const other = digests.get(digest.toString("hex"));
      if (other !== undefined) fail(item, `a key of '${name}' is also a key of '${other}'`);
      digests.set(digest.toString("hex"), name as string);
    }
    let entra: ConsumerSpec["entra"];
    if (value.entra !== undefined) {
      const e = value.entra as Record<string, unknown>;
      const lists = { app_ids: e?.app_ids, roles: e?.roles, object_ids: e?.object_ids };
      if (
        typeof e !== "object" ||
        Object.keys(e).some((k) => !(k in lists)) ||
        Object.values(lists).every((v) => v === undefined) ||
        Object.values(lists).some((v) => v !== undefined && !strings(v))
      )
        fail(node("entra"), "entra: app_ids, roles or object_ids, each a non-empty list of strings");
      entra = {
        appIds: (lists.app_ids as string[]) ?? [],
        roles: (lists.roles as string[]) ?? [],
        objectIds: (lists.object_ids as string[]) ?? [],
      };
      for (const [rule, values] of Object.entries(lists) as Array<[string, string[] | undefined]>)
        for (const value of values ?? []) {
          const other = entraOwners.get(`${rule}:${value}`);
          if (other !== undefined && other !== name)
            fail(
              node("entra"),
              `entra.${rule} '${value}' is listed by '${other}' and '${name}': a token with it would map to either`,
            );
          entraOwners.set(`${rule}:${value}`, name as string);
        }
    }
    if (keyDigests.length === 0 && !entra) fail(item, `consumer '${name}' needs keys_env, key_sha256 or entra`);
    if (value.deployments !== undefined && !strings(value.deployments))
      fail(node("deployments"), "deployments: a non-empty list of deployment names");
    return {
      name: name as string,
      keyDigests,
      ...(entra ? { entra } : {}),
      ...(value.deployments ? { deployments: value.deployments as string[] } : {}),
      limits: parseLimits(node("limits"), fail),
    };
  });
}
