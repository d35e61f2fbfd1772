// Who is calling (issue 26): a consumer's key (`api-key` or `Authorization: Bearer`, compared in constant time
// over SHA-256 digests against every key, so neither content nor length leaks), a Microsoft Entra ID token
// mapped to a consumer by app id, then object id, then role, or one of `--api-key`'s keys (anonymous,
// unlimited). Anything else is a 401; a valid token no consumer is mapped to is a 403. The reason goes to
// the log, never the token. The caller, and so the owner of what it stores, comes from the credential that
// authenticated and nothing else (decideCaller): a header that took no part never changes it.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";
import { exchangeOf } from "../pipeline/exchange.ts";
import { registerSecret } from "../secrets.ts";
import { type AccessSpec, type ConsumerSpec, sha256 } from "./consumers-file.ts";
import { createEntraVerifier, type EntraClaims, type EntraVerifier, InvalidToken, looksLikeJwt } from "./entra.ts";

export interface Access {
  /** Whether any caller must identify itself (consumers, Entra ID or `--api-key`); else every call is open. */
  readonly guarded: boolean;
  readonly consumers: ReadonlyMap<string, ConsumerSpec>;
  readonly failClosed: boolean;
  /** The consumer a key names, or "anonymous" for an `--api-key` key, or undefined. */
  byKey(key: string): ConsumerSpec | "anonymous" | undefined;
  entra: EntraVerifier | undefined;
}

/** `entra`, when given, is kept (with the keys it has fetched) instead of a new verifier: a config reload that
 * leaves the Entra settings as they were. */
export function createAccess(
  spec: AccessSpec | undefined,
  apiKeys: readonly string[],
  entra: EntraVerifier | undefined = spec?.entra ? createEntraVerifier(spec.entra) : undefined,
): Access {
  apiKeys.forEach(registerSecret);
  const keyed: Array<[Buffer, ConsumerSpec | "anonymous"]> = [
    ...(spec?.consumers ?? []).flatMap((c) => c.keyDigests.map((d): [Buffer, ConsumerSpec] => [d, c])),
    ...apiKeys.map((k): [Buffer, "anonymous"] => [sha256(k), "anonymous"]),
  ];
  return {
    guarded: keyed.length > 0 || entra !== undefined,
    consumers: new Map((spec?.consumers ?? []).map((c) => [c.name, c])),
    failClosed: spec?.failClosed ?? false,
    byKey(key) {
      const digest = sha256(key);
      let found: ConsumerSpec | "anonymous" | undefined;
      for (const [candidate, who] of keyed) if (timingSafeEqual(candidate, digest)) found ??= who; // no early exit
      return found;
    },
    entra,
  };
}

/** The credentials a request carries: `api-key` and `Authorization: Bearer` (the Azure JS client sends both). */
export interface SentCredentials {
  apiKey: string | undefined;
  bearer: string | undefined;
}

export function credentialsOf(ctx: Context): SentCredentials {
  return {
    apiKey: ctx.get("api-key") || undefined,
    bearer: /^Bearer\s+(.+)$/i.exec(ctx.get("authorization"))?.[1]?.trim() || undefined,
  };
}

/** The owner of stored state: a hash of who authenticated (never the credential itself). */
export const ownerKey = (identity: string): string =>
  createHash("sha256").update(`azure-openai-proxy:${identity}`).digest("hex").slice(0, 32);

/** The one owner of a gateway that authenticates no one. */
export const OPEN_OWNER = ownerKey("");

export interface Caller {
  /** Undefined: anonymous (an `--api-key` key, or an open gateway). */
  consumer: ConsumerSpec | undefined;
  owner: string;
}

const consumerCaller = (consumer: ConsumerSpec): Caller => ({ consumer, owner: ownerKey(`consumer:${consumer.name}`) });

/** The consumer an Entra token maps to, by one rule after the other: its application (azp, or appid in v1
 * tokens), then its object id, then its roles. Config load refuses a value listed by two consumers; a token
 * whose roles name two consumers is refused here (the names go to the log). */
export function consumerOfClaims(
  consumers: Iterable<ConsumerSpec>,
  claims: EntraClaims,
): ConsumerSpec | { ambiguous: string[] } | undefined {
  const mapped = [...consumers].filter((c) => c.entra);
  const app = claims.azp ?? claims.appid;
  const byApp = app ? mapped.find((c) => c.entra!.appIds.includes(app)) : undefined;
  if (byApp) return byApp;
  const byObject = claims.oid ? mapped.find((c) => c.entra!.objectIds.includes(claims.oid!)) : undefined;
  if (byObject) return byObject;
  const roles = Array.isArray(claims.roles) ? claims.roles : [];
  const byRole = mapped.filter((c) => roles.some((r) => c.entra!.roles.includes(r)));
  if (byRole.length > 1) return { ambiguous: byRole.map((c) => c.name) };
  return byRole[0];
}

const unauthorized = (invalidToken: boolean) =>
  new GatewayError(
    "Unauthorized",
    invalidToken
      ? "Access denied: the bearer token is not valid for this gateway (expired, another tenant or audience, or not signed by it)."
      : "Access denied due to a missing or invalid key. Send a valid key in the 'api-key' header or as 'Authorization: Bearer <key>'.",
    { headers: { "www-authenticate": invalidToken ? 'Bearer error="invalid_token"' : "Bearer" } },
  );

const conflicting = () =>
  new GatewayError(
    "Unauthorized",
    "Access denied: the 'api-key' header and the 'Authorization' header name two different callers. Send one credential.",
    { headers: { "www-authenticate": "Bearer" } },
  );

/** Why a token that verified was not taken (for the log). */
export type TokenRefusal = { reason: "unmapped" | "ambiguous"; claims: EntraClaims; consumers?: string[] };

/**
 * The caller of a request, decided from the credentials that authenticate, in one place:
 * - an open gateway (nothing guarded): everyone is the one open owner, whatever is sent;
 * - each credential sent is tried: `api-key` and a bearer as keys, a bearer shaped like a JWT as an Entra
 *   token; one that does not authenticate takes no part (a placeholder key beside the real one is common);
 * - none authenticates: 401 (a JWT sent alone that is invalid says so; one that maps to no consumer, or to
 *   two by its roles, is a 403);
 * - two authenticate as different callers: 401, never a guess.
 */
export async function decideCaller(
  access: Access,
  sent: SentCredentials,
  onTokenRefused: (refusal: TokenRefusal | { reason: "invalid"; message: string }) => void = () => {},
): Promise<Caller> {
  if (!access.guarded) return { consumer: undefined, owner: OPEN_OWNER };
  const callers: Caller[] = [];
  let tokenError: GatewayError | undefined;
  const keys = sent.bearer === sent.apiKey ? [sent.apiKey] : [sent.apiKey, sent.bearer];
  for (const key of keys) {
    const who = key ? access.byKey(key) : undefined;
    if (who !== undefined)
      callers.push(who === "anonymous" ? { consumer: undefined, owner: ownerKey(key!) } : consumerCaller(who));
  }
  const bearer = sent.bearer;
  if (bearer && bearer !== sent.apiKey && access.entra && looksLikeJwt(bearer)) {
    try {
      const claims = await access.entra.verify(bearer);
      const consumer = consumerOfClaims(access.consumers.values(), claims);
      if (consumer && !("ambiguous" in consumer)) callers.push(consumerCaller(consumer));
      else {
        onTokenRefused(
          consumer ? { reason: "ambiguous", claims, consumers: consumer.ambiguous } : { reason: "unmapped", claims },
        );
        tokenError = new GatewayError(
          "Forbidden",
          consumer
            ? "The token is valid, but its roles map it to more than one consumer of this gateway."
            : "The token is valid, but no consumer of this gateway is mapped to it.",
        );
      }
    } catch (err) {
      onTokenRefused({ reason: "invalid", message: err instanceof InvalidToken ? err.message : String(err) });
      tokenError = unauthorized(true);
    }
  }
  const [first, ...others] = callers;
  if (first === undefined) throw sent.apiKey === undefined && tokenError ? tokenError : unauthorized(false);
  if (others.some((other) => other.owner !== first.owner)) throw conflicting();
  return first;
}

/** `current` gives the access in force (a config reload replaces it; a request keeps the one it started with). */
export function identify(
  current: () => Access,
  openPaths: ReadonlySet<string>,
  warn: (obj: object, msg: string) => void,
) {
  return async function identifyCaller(ctx: Context, next: Next): Promise<void> {
    const access = current();
    if (!access.guarded || openPaths.has(ctx.path)) return next();
    const exchange = exchangeOf(ctx);
    const caller = await decideCaller(access, credentialsOf(ctx), (refusal) => {
      if (refusal.reason === "invalid")
        warn({ requestId: exchange.requestId, reason: refusal.message.slice(0, 300) }, "bearer token refused");
      else
        warn(
          {
            requestId: exchange.requestId,
            app: refusal.claims.azp ?? refusal.claims.appid,
            oid: refusal.claims.oid,
            consumers: refusal.consumers,
          },
          refusal.reason === "ambiguous"
            ? "valid token, its roles map it to several consumers"
            : "valid token, no consumer mapped to it",
        );
    });
    exchange.consumer = caller.consumer?.name;
    exchange.owner = caller.owner;
    return next();
  };
}
