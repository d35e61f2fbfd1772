// A real local OpenID issuer for the Entra ID tests: an HTTP server with a tenant's v2.0 OpenID configuration
// and its JWKS, RS256 keys made with jose, tokens signed as Entra signs them; keys can be rotated, and every
// JWKS fetch is counted.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";

type Key = Awaited<ReturnType<typeof generateKeyPair>> & { kid: string };

export class OpenIdIssuer {
  url = "";
  jwksFetches = 0;
  keys: Key[] = [];
  private server: Server;

  constructor(readonly tenant: string) {
    this.server = createServer((req, res) => void this.handle(req.url ?? "", res));
  }

  static async start(tenant: string): Promise<OpenIdIssuer> {
    const issuer = new OpenIdIssuer(tenant);
    await issuer.rotate();
    await new Promise<void>((resolve) => issuer.server.listen(0, "127.0.0.1", resolve));
    issuer.url = `http://127.0.0.1:${(issuer.server.address() as AddressInfo).port}`;
    return issuer;
  }

  get configuration(): string {
    return `${this.url}/${this.tenant}/v2.0/.well-known/openid-configuration`;
  }
  get issuer(): string {
    return `${this.url}/${this.tenant}/v2.0`;
  }

  /** A new signing key, published beside the old one (as Entra rolls keys). */
  async rotate(): Promise<Key> {
    const pair = await generateKeyPair("RS256", { extractable: true });
    const key = { ...pair, kid: `kid-${this.keys.length + 1}-${Math.random().toString(36).slice(2, 8)}` };
    this.keys.push(key);
    return key;
  }

  /** A token as Entra issues it for `claims`; `key` defaults to the newest, `kid` to the key's. */
  async token(
    claims: JWTPayload & Record<string, unknown>,
    options: { key?: Key; kid?: string; expiresIn?: string | number; issuer?: string } = {},
  ): Promise<string> {
    const key = options.key ?? this.keys.at(-1)!;
    return new SignJWT({ tid: this.tenant, ...claims })
      .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: options.kid ?? key.kid })
      .setIssuedAt()
      .setIssuer(options.issuer ?? this.issuer)
      .setExpirationTime(options.expiresIn ?? "1h")
      .sign(key.privateKey);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(url: string, res: import("node:http").ServerResponse): Promise<void> {
    if (url === `/${this.tenant}/v2.0/.well-known/openid-configuration`) {
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: this.issuer, jwks_uri: `${this.url}/${this.tenant}/discovery/v2.0/keys` }));
    }
    if (url === `/${this.tenant}/discovery/v2.0/keys`) {
      this.jwksFetches++;
      const keys = await Promise.all(
        this.keys.map(async (k) => ({ ...(await exportJWK(k.publicKey)), kid: k.kid, use: "sig", alg: "RS256" })),
      );
      return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
    }
    res.writeHead(404).end();
  }
}
