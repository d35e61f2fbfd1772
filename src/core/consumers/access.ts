// Who is calling (issue 26): a consumer's key (`api-key` or `Authorization: Bearer`, compared in constant time
// over SHA-256 digests against every key, so neither content nor length leaks), a Microsoft Entra ID token
// mapped to a consumer by app id, role or object id, or one of `--api-key`'s keys (anonymous, unlimited).
// Anything else is a 401; a valid token no consumer is mapped to is a 403. The reason goes to the log, never
// the token.
import { timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";
import { keysOf } from "../http/auth.ts";
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

/** The consumer an Entra token maps to: its app (azp, or appid in v1 tokens), a role, or its object id. */
function consumerOfClaims(consumers: Iterable<ConsumerSpec>, claims: EntraClaims): ConsumerSpec | undefined {
  const app = claims.azp ?? claims.appid;
  for (const c of consumers) {
    if (!c.entra) continue;
    if (app && c.entra.appIds.includes(app)) return c;
    if (claims.oid && c.entra.objectIds.includes(claims.oid)) return c;
    if (Array.isArray(claims.roles) && claims.roles.some((r) => c.entra!.roles.includes(r))) return c;
  }
  return undefined;
}

const unauthorized = (invalidToken: boolean) =>
  new GatewayError(
    "Unauthorized",
    invalidToken
      ? "Access denied: the bearer token is not valid for this gateway (expired, another tenant or audience, or not signed by it)."
      : "Access denied due to a missing or invalid key. Send a valid key in the 'api-key' header or as 'Authorization: Bearer <key>'.",
    { headers: { "www-authenticate": invalidToken ? 'Bearer error="invalid_token"' : "Bearer" } },
  );

/** `current` gives the access in force (a config reload replaces it; a request keeps the one it started with). */
export function identify(
  current: () => Access,
  openPaths: ReadonlySet<string>,
  warn: (obj: object, msg: string) => void,
) {
  return async function identifyCaller(ctx: Context, next: Next): Promise<void> {
    const access = current();
    if (!access.guarded || openPaths.has(ctx.path)) return next();
    const { apiKey, bearer } = keysOf(ctx);
    const exchange = exchangeOf(ctx);
    if (bearer && access.entra && looksLikeJwt(bearer) && !apiKey) {
      let claims: EntraClaims;
      try {
        claims = await access.entra.verify(bearer);
      } catch (err) {
        const reason = err instanceof InvalidToken ? err.message : String(err);
        warn({ requestId: exchange.requestId, reason: reason.slice(0, 300) }, "bearer token refused");
        throw unauthorized(true);
      }
      const consumer = consumerOfClaims(access.consumers.values(), claims);
      if (!consumer) {
        warn(
          { requestId: exchange.requestId, app: claims.azp ?? claims.appid, oid: claims.oid },
          "valid token, no consumer mapped to it",
        );
        throw new GatewayError("Forbidden", "The token is valid, but no consumer of this gateway is mapped to it.");
      }
      exchange.consumer = consumer.name;
      return next();
    }
    for (const key of [apiKey, bearer]) {
      const who = key ? access.byKey(key) : undefined;
      if (who === undefined) continue;
      if (who !== "anonymous") exchange.consumer = who.name;
      return next();
    }
    throw unauthorized(false);
  };
}
