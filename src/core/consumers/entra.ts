// Microsoft Entra ID bearer tokens (issue 26), verified with jose: the signature against the JWKS of the
// tenant's OpenID configuration (cached; fetched again for an unknown `kid` at most once per 30 s by
// default, however many bad tokens arrive: jose's cooldown), RS256 only, `iss` the configuration's issuer or the tenant's v1
// issuer, `aud` one of the audiences, `tid` the tenant, `exp`/`nbf` with five minutes' skew.
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";
import type { EntraSpec } from "./consumers-file.ts";

const SKEW_S = 300;

export interface EntraClaims extends JWTPayload {
  tid?: string;
  azp?: string;
  appid?: string;
  oid?: string;
  roles?: string[];
}

/** Why a token was refused: for the log, never the client (and never the token). */
export class InvalidToken extends Error {
  override name = "InvalidToken";
}

/** A JWT's shape (three base64url parts, a JSON header): what is told apart from an API key. */
export const looksLikeJwt = (token: string): boolean => /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(token);

export interface EntraVerifier {
  verify(token: string): Promise<EntraClaims>;
}

export function createEntraVerifier(spec: EntraSpec): EntraVerifier {
  let discovered: Promise<{ issuer: string; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;
  /** The OpenID configuration, fetched on the first token (again after a failure). */
  const discover = () =>
    (discovered ??= (async () => {
      const res = await fetch(spec.openidConfiguration, { signal: AbortSignal.timeout(10_000) });
      if (!res.ok) throw new InvalidToken(`the OpenID configuration answered HTTP ${res.status}`);
      const config = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
      if (typeof config.issuer !== "string" || typeof config.jwks_uri !== "string")
        throw new InvalidToken("the OpenID configuration has no issuer or jwks_uri");
      const jwks = createRemoteJWKSet(new URL(config.jwks_uri), {
        cooldownDuration: spec.jwksRefetchCooldownMs,
        timeoutDuration: 10_000,
      });
      return { issuer: config.issuer.replace("{tenantid}", spec.tenantId), jwks };
    })().catch((err: unknown) => {
      discovered = undefined;
      throw err instanceof InvalidToken ? err : new InvalidToken(`the OpenID configuration: ${(err as Error).message}`);
    }));

  return {
    async verify(token) {
      const { issuer, jwks } = await discover();
      try {
        const { payload } = await jwtVerify<EntraClaims>(token, jwks, {
          algorithms: ["RS256"],
          issuer: [issuer, `https://sts.windows.net/${spec.tenantId}/`],
          audience: spec.audiences,
          clockTolerance: SKEW_S,
          requiredClaims: ["exp"],
        });
        if (payload.tid !== spec.tenantId)
          throw new InvalidToken(`tid '${String(payload.tid).slice(0, 40)}' is another tenant`);
        return payload;
      } catch (err) {
        if (err instanceof InvalidToken) throw err;
        const code = err instanceof errors.JOSEError ? err.code : "ERR_JWT_INVALID";
        throw new InvalidToken(`${code}: ${(err as Error).message}`);
      }
    },
  };
}
