// openapi-fetch's transport, on undici's request API instead of fetch: openapi-fetch keeps building the
// URL, serialising the body and typing the answer from the generated `paths`, while each call skips
// WHATWG Request/Response construction, which cost about a third of the gateway's CPU per request
// (measured with --cpu-prof under `npm run bench`). Only what openapi-fetch reads is implemented.
import type { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import type { Dispatcher } from "undici";
import { RedactedBody, redactKnown } from "./redact-body.ts";
import type { RoutingFacts } from "../routing/prefix.ts";
import type { RouteReason } from "../routing/router.ts";
import type { RequestSignal } from "./request-signal.ts";

/** openapi-fetch's init is typed with WHATWG's AbortSignal; it only hands the signal to this transport,
 * and undici takes an EventEmitter signal as well. */
export const asFetchSignal = (signal: RequestSignal): AbortSignal => signal as unknown as AbortSignal;

export type UpstreamBody = string | Uint8Array | Readable;

/** What a call reports back to its request's exchange (core/exchange.ts): the replica that served it,
 * and why the router chose it. */
export interface CallRecord {
  replica: string | undefined;
  routeReason?: RouteReason | undefined;
}

export interface UpstreamInit {
  method?: string;
  /** openapi-fetch's WHATWG Headers, or a direct call's plain object (client.ts). */
  headers?: Headers | Record<string, string>;
  body?: UpstreamBody | undefined;
  signal?: AbortSignal | EventEmitter;
  /** Given by the caller in the init it hands openapi-fetch, which passes it on. */
  exchange?: CallRecord | undefined;
  /** What the replica is chosen by (core/routing), given the same way. */
  routing?: RoutingFacts | undefined;
}

/** What openapi-fetch passes to `new Request(url, init)` and then to `fetch(request)`. */
export class UpstreamRequest {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers | Record<string, string>;
  /** A string from openapi-fetch; a stream or bytes for the engine routes passed through (engine-routes.ts). */
  readonly body: UpstreamBody | undefined;
  signal: AbortSignal | EventEmitter | undefined;
  readonly exchange: CallRecord | undefined;
  readonly routing: RoutingFacts | undefined;

  constructor(url: string, init: UpstreamInit) {
    this.url = url;
    this.method = init.method ?? "GET";
    this.headers = init.headers ?? new Headers();
    this.body = init.body;
    this.signal = init.signal ?? undefined;
    this.exchange = init.exchange;
    this.routing = init.routing;
  }
}

type EngineBody = Dispatcher.ResponseData["body"];

/** The subset of Response that openapi-fetch and the routes read. `secrets`: the credentials the engine was
 * sent, removed from its answer however it is read (whole, as text or JSON; or as a stream). */
export class UpstreamResponse {
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  private streamed: Readable | undefined;

  constructor(
    readonly status: number,
    headers: Record<string, string | string[] | undefined>,
    private readonly raw: EngineBody,
    private readonly secrets: readonly string[] = [],
  ) {
    this.ok = status >= 200 && status < 300;
    this.headers = {
      get(name) {
        if (secrets.length > 0 && name.toLowerCase() === "content-length") return null; // "[redacted]" is not the key's length
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  /** The answer as a stream (an SSE stream, a body passed through). */
  get body(): Readable {
    if (this.secrets.length === 0) return this.raw;
    return (this.streamed ??= pipeline(this.raw, new RedactedBody(this.secrets), () => {}));
  }

  /** Calls `done(true)` when the engine's body was read to its end, `done(false)` when it closed before. */
  onBodyDone(done: (ended: boolean) => void): void {
    let ended = false;
    this.raw.once("end", () => (ended = true));
    this.raw.once("close", () => done(ended));
  }

  async text(): Promise<string> {
    const text = await this.raw.text();
    return this.secrets.length === 0 ? text : redactKnown(text, this.secrets);
  }

  json(): Promise<unknown> {
    return this.secrets.length === 0 ? this.raw.json() : this.text().then((text) => JSON.parse(text) as unknown);
  }
}

/** What the transport tells the rest of the gateway about the engine. */
export interface TransportEvents {
  /** A connection to the engine was refused: nothing listens on its port (stopped, restarting, loading). */
  refused?(): void;
}

const isRefusal = (err: unknown) => (err as { code?: unknown } | null)?.code === "ECONNREFUSED";

/** A fetch-shaped function over one undici dispatcher (the keep-alive Agent) for one origin, whose URLs
 * openapi-fetch builds from the configured base URL (so the origin is a prefix, not parsed per call). */
export type Transport = (request: UpstreamRequest) => Promise<UpstreamResponse>;

/** `engineKeys`: the credentials the engine is sent, removed from its answers (an engine may echo them). */
export function createTransport(
  dispatcher: Dispatcher,
  origin: string,
  events: TransportEvents = {},
  engineKeys: readonly string[] = [],
): Transport {
  return async function transport(request: UpstreamRequest): Promise<UpstreamResponse> {
    let headers: Record<string, string>;
    if (request.headers instanceof Headers) {
      headers = {};
      request.headers.forEach((value, name) => (headers[name] = value));
    } else headers = request.headers;
    try {
      const res = await dispatcher.request({
        origin,
        path: request.url.startsWith(origin) ? request.url.slice(origin.length) : new URL(request.url).pathname,
        method: request.method as Dispatcher.HttpMethod,
        headers,
        body: request.body ?? null,
        signal: request.signal ?? null,
      });
      return new UpstreamResponse(res.statusCode, res.headers, res.body, engineKeys);
    } catch (err) {
      if (isRefusal(err)) events.refused?.();
      throw err;
    }
  };
}
