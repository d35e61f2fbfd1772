// The engine's OpenAI API: one openapi-fetch client over one keep-alive undici Agent, built once.
// It knows nothing of Azure. Timeouts replace undici's hidden 300 s defaults.
import createClient, { createQuerySerializer, type Client } from "openapi-fetch";
import { Agent } from "undici";
import type { paths } from "../../../generated/openai/schema.d.ts";
import type { Config } from "../../config.ts";
import { registerSecret } from "../secrets.ts";
import type { EngineRoute } from "./call.ts";
import { createTransport, type Transport, type TransportEvents, UpstreamRequest } from "./transport.ts";

export type UpstreamClient = Client<paths>;

export interface Upstream {
  client: UpstreamClient;
  /** The headers an engine call carries (the engine key, if any): asked per call, so a credential that
   * changes (a token refreshed apart from requests) needs no new client. */
  engineHeaders(): Readonly<Record<string, string>>;
  /** GET a JSON document outside the OpenAI API, relative to the engine's root (TEI's `/info`). */
  getRootJson(path: string, signal: AbortSignal): Promise<{ status: number; body: unknown }>;
  /** Names an engine route (under the OpenAI base URL) for failure messages; built once per gateway route. */
  route(method: string, path: string, optional?: boolean): EngineRoute;
  /** The fetch-shaped function under `client`, for a balancer in front of several engines. */
  transport: Transport;
  /** The OpenAI base URL the client's requests are built on. */
  baseUrl: string;
  /** The engine's root (the base URL without its `/v1`), for the routes engines serve outside it
   * (`/tokenize`, `/rerank`, `/metrics`), without a trailing slash. */
  rootUrl: string;
  close(): Promise<void>;
}

/** What the client is built from: one engine's URL, key and timeouts (a deployment's, or the flags'). */
export type UpstreamOptions = Pick<
  Config,
  "upstreamBaseUrl" | "upstreamApiKey" | "connectTimeoutMs" | "firstByteTimeoutMs" | "idleTimeoutMs"
>;

export function createUpstream(config: UpstreamOptions, events: TransportEvents = {}): Upstream {
  const agent = new Agent({
    connect: { timeout: config.connectTimeoutMs },
    headersTimeout: config.firstByteTimeoutMs,
    bodyTimeout: config.idleTimeoutMs,
    keepAliveTimeout: 30_000,
    // No cap per origin: a cap queues streams behind streams (1,000 held streams waited ~5 s for a slot).
    connections: null,
    pipelining: 1,
  });
  const rootUrl = new URL(config.upstreamBaseUrl.replace(/\/v1$/, "/"));
  registerSecret(config.upstreamApiKey);
  const baseHeaders = Object.freeze<Record<string, string>>(
    config.upstreamApiKey ? { authorization: `Bearer ${config.upstreamApiKey}` } : {},
  );
  const transport = createTransport(
    agent,
    rootUrl.origin,
    events,
    config.upstreamApiKey ? [config.upstreamApiKey] : [],
  );
  const client = createClient<paths>({
    baseUrl: config.upstreamBaseUrl,
    // The default serializer, built once: left unset, openapi-fetch builds it again on every call.
    querySerializer: createQuerySerializer(),
    // The one place the WHATWG types are stood in for: see transport.ts.
    Request: UpstreamRequest as unknown as typeof Request,
    fetch: transport as unknown as (request: Request) => Promise<Response>,
  });
  return {
    client,
    engineHeaders: () => baseHeaders,
    async getRootJson(path, signal) {
      const res = await agent.request({
        origin: rootUrl.origin,
        path: rootUrl.pathname.replace(/\/$/, "") + path,
        method: "GET",
        headers: baseHeaders,
        signal,
      });
      const text = await res.body.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text for the error mapper
      }
      return { status: res.statusCode, body };
    },
    route: (method, path, optional = false) =>
      Object.freeze({ label: `${method} ${config.upstreamBaseUrl}${path}`, optional }),
    transport,
    baseUrl: config.upstreamBaseUrl,
    rootUrl: rootUrl.href.replace(/\/$/, ""),
    close: () => agent.close(),
  };
}
