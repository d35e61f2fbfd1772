// The engine's OpenAI API: one client over one keep-alive undici Agent, built once. It knows nothing of
// Azure. Timeouts replace undici's hidden 300 s defaults. The hot path's calls (a JSON body POSTed, the
// answer read whole or as a stream) go straight to the transport, typed by the generated `paths`
// (postJson, postStream); openapi-fetch serves the rest (model listings, probes), where its Request
// building and header merging cost nothing that matters (docs/architecture.md).
import createClient, { createQuerySerializer, type Client } from "openapi-fetch";
import { Agent } from "undici";
import type { paths } from "../../../generated/openai/schema.d.ts";
import type { Config } from "../../config.ts";
import { registerSecret } from "../secrets.ts";
import type { EngineRoute } from "./call.ts";
import type { Readable } from "node:stream";
import type { RoutingFacts } from "../routing/prefix.ts";
import type { FetchResult } from "./call.ts";
import {
  type CallRecord,
  createTransport,
  type Transport,
  type TransportEvents,
  UpstreamRequest,
} from "./transport.ts";

/** The engine's POST routes that take a JSON body. */
export type JsonPost = {
  [P in keyof paths]: paths[P] extends { post: { requestBody?: { content: { "application/json": unknown } } } }
    ? P
    : never;
}[keyof paths];
/** The body a route takes, as the spec types it. */
export type EngineBody<P extends JsonPost> = NonNullable<
  paths[P]["post"]["requestBody"]
>["content"]["application/json"];
/** A route's 200 answer, as the spec types it. */
export type EngineAnswer<P extends JsonPost> = paths[P]["post"] extends {
  responses: { 200: { content: { "application/json": infer A } } };
}
  ? A
  : unknown;

/** What a direct call is given: the engine call's own headers, signal and records, and the body. */
export interface DirectInit<B> {
  headers: Record<string, string>;
  signal: AbortSignal;
  exchange?: CallRecord | undefined;
  routing?: RoutingFacts | undefined;
  body: B;
}

export interface DirectPost {
  /** POST `body` as JSON and read the answer whole; as openapi-fetch answers (data, or error and response). */
  postJson<P extends JsonPost>(path: P, init: DirectInit<EngineBody<P>>): Promise<FetchResult<EngineAnswer<P>>>;
  /** The same, the answer's body left as a stream (SSE). */
  postStream<P extends JsonPost>(path: P, init: DirectInit<EngineBody<P>>): Promise<FetchResult<Readable>>;
}

export type UpstreamClient = Client<paths> & DirectPost;

const JSON_TYPE = "application/json";

/** openapi-fetch over `transport`, and the direct calls beside it. */
export function engineClient(baseUrl: string, transport: Transport): UpstreamClient {
  const client = createClient<paths>({
    baseUrl,
    // The default serializer, built once: left unset, openapi-fetch builds it again on every call.
    querySerializer: createQuerySerializer(),
    // The one place the WHATWG types are stood in for: see transport.ts.
    Request: UpstreamRequest as unknown as typeof Request,
    fetch: transport as unknown as (request: Request) => Promise<Response>,
  });
  const post = async (path: string, init: DirectInit<unknown>, stream: boolean): Promise<FetchResult<unknown>> => {
    const headers = { ...init.headers, "content-type": JSON_TYPE };
    const response = await transport(
      new UpstreamRequest(baseUrl + path, {
        method: "POST",
        headers,
        body: JSON.stringify(init.body),
        signal: init.signal,
        exchange: init.exchange,
        routing: init.routing,
      }),
    );
    const asResponse = response as unknown as Response;
    if (response.ok) {
      if (stream) return { data: response.body, response: asResponse };
      // As openapi-fetch reads it: an empty answer is no data (callUpstream reports it), else JSON.
      const text = await response.text();
      return { data: text ? (JSON.parse(text) as unknown) : undefined, response: asResponse };
    }
    const text = await response.text();
    let error: unknown = text;
    try {
      error = JSON.parse(text);
    } catch {
      // not JSON: the engine's words as they are
    }
    return { error, response: asResponse };
  };
  return Object.assign(client, {
    postJson: (path: string, init: DirectInit<unknown>) => post(path, init, false),
    postStream: (path: string, init: DirectInit<unknown>) => post(path, init, true),
  }) as UpstreamClient;
}

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
  const client = engineClient(config.upstreamBaseUrl, transport);
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
