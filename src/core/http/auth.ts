// Optional inbound auth: `api-key: K` or `Authorization: Bearer K` (the Azure JS client sends both).
// Keys are compared in constant time over their SHA-256, so neither content nor length leaks.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";
import { registerSecret } from "../secrets.ts";

const digest = (value: string) => createHash("sha256").update(value).digest();

/** The key a request carries, as `api-key` or `Authorization: Bearer`. */
export function keysOf(ctx: Context): { apiKey: string | undefined; bearer: string | undefined } {
  return {
    apiKey: ctx.get("api-key") || undefined,
    bearer: /^Bearer\s+(.+)$/i.exec(ctx.get("authorization"))?.[1]?.trim() || undefined,
  };
}

export function apiKeyAuth(keys: readonly string[], openPaths: ReadonlySet<string>) {
  keys.forEach(registerSecret); // an engine that echoes a forwarded header never shows them
  const digests = keys.map(digest);
  const matches = (candidate: string) => {
    const d = digest(candidate);
    let ok = false;
    for (const k of digests) ok = timingSafeEqual(k, d) || ok;
    return ok;
  };
  return async function authenticate(ctx: Context, next: Next): Promise<void> {
    if (digests.length > 0 && !openPaths.has(ctx.path)) {
      const { apiKey, bearer } = keysOf(ctx);
      if (!(apiKey && matches(apiKey)) && !(bearer && matches(bearer))) {
        throw new GatewayError(
          "Unauthorized",
          "Access denied due to a missing or invalid key. Send a valid key in the 'api-key' header or as 'Authorization: Bearer <key>'.",
          { headers: { "www-authenticate": "Bearer" } },
        );
      }
    }
    await next();
  };
}
