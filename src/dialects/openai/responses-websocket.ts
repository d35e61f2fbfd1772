// The Responses API over WebSocket (Azure OpenAI's and OpenAI's WebSocket mode): a client upgrades a
// connection to a path it could POST a Response to (/v1/responses, /openai/v1/responses,
// /openai/responses?api-version=, /openai/deployments/{d}/responses) and sends `response.create` events; each
// streams back the same Responses events, one JSON text message per event.
//
// Each create goes through the one HTTP pipeline: it is POSTed, streamed, to this gateway's own port with the
// credentials of the upgrade, so the consumer, its allow-list, limits and quotas, routing, the store and the
// log line and metrics are those of an HTTP create, and nothing is implemented twice. What is the socket's
// own: authentication before the upgrade completes (a refusal is the HTTP status and the dialect's
// envelope), one response at a time, a connection age limit (`websocket_connection_limit_reached`),
// `generate: false` (state warmed up, nothing generated), and `store: false` chains kept with the
// connection and dropped with it.
import { type IncomingMessage, type Server, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { type WebSocket, WebSocketServer } from "ws";
import type { GatewayDeps } from "../../deps.ts";
import { credentialsOf, decideCaller } from "../../core/consumers/access.ts";
import { GatewayError, type ErrorBody } from "../../core/errors.ts";
import { SseParser } from "../../core/stream/sse.ts";
import type { Item } from "../../core/state/store.ts";
import { dialectOf } from "../table.ts";
import { completeResponse } from "./response-object.ts";
import { newResponseId } from "./responses-state.ts";

/** The paths a Response is POSTed to, each also a WebSocket endpoint. */
const RESPONSES_PATH = /^\/(?:v1|openai\/v1|openai|openai\/deployments\/[^/]+)\/responses$/;
/** Headers of the upgrade the pipeline reads, passed on to each create. */
const FORWARDED = ["api-key", "authorization", "x-ms-client-request-id", "traceparent", "tracestate", "user-agent"];
/** `store: false` responses a connection keeps for continuations (the most recent). */
const LOCAL_CHAIN_LIMIT = 64;
const PING_MS = 30_000;
/** Events queued for a slow reader past which the relay waits for them to be written (back-pressure on the
 * create's stream, hence on the engine), never buffering without bound. */
const HIGH_WATER_BYTES = 1 << 20;

/** Why a connection closed, as gateway_websocket_closes_total counts it. */
export type CloseReason = "client" | "age_limit" | "shutdown" | "ping_timeout" | "too_large" | "error";

export interface ResponsesWebSocketOptions {
  /** How long a connection may stay open (Azure: 60 minutes). */
  maxAgeMs: number;
  /** The largest message accepted (--body-limit). */
  maxMessageBytes: number;
}

export interface ResponsesWebSockets {
  /** Open connections. */
  readonly open: number;
  /** Closes idle connections now (1001, going away) and the others as their response ends. */
  drain(): void;
  /** Closes every connection now. */
  close(): void;
}

/** An HTTP refusal of the upgrade, in the path's dialect envelope. */
function refuse(socket: Duplex, err: GatewayError, body: ErrorBody): void {
  const text = JSON.stringify(body(err));
  const headers = [
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? "Error"}`,
    "content-type: application/json",
    `content-length: ${Buffer.byteLength(text)}`,
    ...Object.entries(err.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    "connection: close",
  ];
  socket.end(`${headers.join("\r\n")}\r\n\r\n${text}`);
}

/** The input of a create as a list of items (a string is one user message). */
function inputItems(input: unknown): Item[] {
  if (typeof input === "string") return [{ type: "message", role: "user", content: input }];
  return Array.isArray(input) ? (input as Item[]) : [];
}

/** An output item as later input: what a continuation sends the engine. */
const asInput = (item: Item): Item => {
  if (item.type !== "message") return item;
  const { status: _status, id: _id, ...rest } = item;
  return rest;
};

export function attachResponsesWebSocket(
  server: Server,
  deps: GatewayDeps,
  options: ResponsesWebSocketOptions,
): ResponsesWebSockets {
  const { log, metrics } = deps;
  // A message past --body-limit is answered with an error event and the connection stays; past twice that, ws
  // closes it (1009) without reading more.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 2 * options.maxMessageBytes,
    perMessageDeflate: false,
  });
  const connections = new Set<Connection>();
  let draining = false;
  metrics.watchWebSockets(() => connections.size);

  /** Where this gateway's own port answers (its pipeline). */
  const selfUrl = () => {
    const { address, port } = server.address() as AddressInfo;
    const host =
      address === "0.0.0.0"
        ? "127.0.0.1"
        : address === "::"
          ? "[::1]"
          : address.includes(":")
            ? `[${address}]`
            : address;
    return `http://${host}:${port}`;
  };

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => {}); // a client that drops during the handshake
    const url = new URL(req.url ?? "/", "http://gateway");
    const errorBody = dialectOf(url.pathname).errorBody;
    if (!RESPONSES_PATH.test(url.pathname) || (req.headers.upgrade ?? "").toLowerCase() !== "websocket")
      return refuse(
        socket,
        new GatewayError(
          "NotFound",
          `There is no WebSocket endpoint at ${url.pathname.slice(0, 200)}: connect to a path you POST Responses to (/openai/v1/responses, /v1/responses).`,
        ),
        errorBody,
      );
    if (draining)
      return refuse(socket, new GatewayError("ServiceUnavailable", "The gateway is shutting down."), errorBody);
    const sent = {
      apiKey: (req.headers["api-key"] as string | undefined) || undefined,
      bearer: /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim() || undefined,
    } satisfies ReturnType<typeof credentialsOf>;
    decideCaller(deps.access, sent).then(
      (caller) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          const connection = new Connection(ws, req, url, caller.consumer?.name, errorBody);
          connections.add(connection);
          ws.once("close", () => connections.delete(connection));
        }),
      (err: unknown) =>
        refuse(
          socket,
          err instanceof GatewayError
            ? err
            : new GatewayError("InternalServerError", "The credentials could not be checked."),
          errorBody,
        ),
    );
  });

  class Connection {
    private busy: AbortController | undefined;
    private readonly chains = new Map<string, Item[]>();
    private readonly openedAt = Date.now();
    private responses = 0;
    private expired = false;
    private alive = true;
    private closeReason: CloseReason | undefined;
    private readonly ageTimer: NodeJS.Timeout;
    private readonly pinger: NodeJS.Timeout;

    constructor(
      private readonly ws: WebSocket,
      private readonly req: IncomingMessage,
      private readonly url: URL,
      consumer: string | undefined,
      private readonly errorBody: ErrorBody,
    ) {
      log.info({ path: url.pathname, consumer }, "websocket opened");
      this.ageTimer = setTimeout(() => this.expire(), options.maxAgeMs);
      this.ageTimer.unref();
      this.pinger = setInterval(() => {
        if (!this.alive) {
          this.closeReason = "ping_timeout"; // no pong since the last ping: the peer is gone
          return void ws.terminate();
        }
        this.alive = false;
        ws.ping();
      }, PING_MS);
      this.pinger.unref();
      ws.on("pong", () => (this.alive = true));
      ws.on("message", (data, isBinary) => {
        const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : data.byteLength;
        if (bytes > options.maxMessageBytes)
          return this.error(
            new GatewayError(
              "PayloadTooLarge",
              `A message of ${bytes} bytes is over this gateway's limit of ${options.maxMessageBytes} bytes (--body-limit).`,
            ),
          );
        void this.message(isBinary ? undefined : data.toString());
      });
      ws.once("error", (err) => {
        this.closeReason ??=
          (err as { code?: string }).code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? "too_large" : "error";
      });
      ws.once("close", (code) => {
        clearTimeout(this.ageTimer);
        clearInterval(this.pinger);
        this.busy?.abort(); // the client left: its engine request is aborted with the create
        this.chains.clear();
        const reason = this.closeReason ?? "client";
        metrics.webSocketClosed(reason, this.responses);
        log.info(
          {
            path: url.pathname,
            consumer,
            code,
            reason,
            responses: this.responses,
            durationMs: Date.now() - this.openedAt,
          },
          "websocket closed",
        );
      });
    }

    private send(event: object | string): void {
      if (this.ws.readyState === this.ws.OPEN) this.ws.send(typeof event === "string" ? event : JSON.stringify(event));
    }

    /** Sends one event of a create's stream; past the high-water mark, resolves once it is written. */
    private relayed(data: string): Promise<void> | undefined {
      if (this.ws.readyState !== this.ws.OPEN) return undefined;
      if (this.ws.bufferedAmount < HIGH_WATER_BYTES) return void this.ws.send(data);
      return new Promise((resolve) => this.ws.send(data, () => resolve()));
    }

    private error(err: GatewayError): void {
      this.send({ type: "error", status: err.status, ...(this.errorBody(err) as object) });
    }

    /** The age limit: said at once when idle, else when the response in flight ends; then closed. */
    private expire(): void {
      this.expired = true;
      if (!this.busy) this.goAway();
    }

    private goAway(): void {
      this.error(
        new GatewayError(
          "WebsocketConnectionLimitReached",
          `This WebSocket connection reached its limit of ${options.maxAgeMs >= 60_000 ? `${Math.round(options.maxAgeMs / 60_000)} minutes` : `${options.maxAgeMs / 1000} s`}; open a new connection to continue (store: false responses of this one are gone with it).`,
        ),
      );
      this.closeReason = "age_limit";
      this.ws.close(1000, "connection limit reached");
    }

    /** Draining: closes now when idle, else after the response in flight. */
    drain(): void {
      if (!this.busy) this.shutDown();
    }

    private shutDown(): void {
      this.closeReason = "shutdown";
      this.ws.close(1001, "the gateway is shutting down");
    }

    close(): void {
      this.closeReason ??= "shutdown";
      this.ws.terminate();
    }

    private async message(text: string | undefined): Promise<void> {
      let event: Item;
      try {
        event = JSON.parse(text ?? "") as Item;
        if (event === null || typeof event !== "object" || Array.isArray(event)) throw new Error("not an object");
      } catch {
        return this.error(
          new GatewayError("InvalidJson", 'Each message is one JSON object, e.g. {"type": "response.create", …}.'),
        );
      }
      if (event.type !== "response.create")
        return this.error(
          new GatewayError(
            "InvalidRequestBody",
            `Unsupported event type '${String(event.type).slice(0, 100)}': this endpoint takes response.create.`,
            { target: "type" },
          ),
        );
      if (this.busy)
        return this.error(
          new GatewayError(
            "ResponseInProgress",
            "A response is in progress on this connection: send the next response.create after its last event (one response at a time per connection).",
          ),
        );
      if (this.expired) return this.goAway();
      const { type: _type, stream: _stream, background, generate, ...body } = event;
      if (background === true)
        return this.error(
          new GatewayError(
            "InvalidRequestBody",
            "background is not available over WebSocket: a response streams on its connection.",
            {
              target: "background",
            },
          ),
        );
      const controller = new AbortController();
      this.busy = controller;
      try {
        const local =
          typeof body.previous_response_id === "string" ? this.chains.get(body.previous_response_id) : undefined;
        const turn = inputItems(body.input);
        const history = local ?? [];
        if (local) {
          // A response this connection keeps (store: false, or generate: false): the chain is expanded here.
          body.input = [...local, ...turn];
          delete body.previous_response_id;
        }
        if (generate === false) this.warmUp(body, [...history, ...turn]);
        else await this.create(body, [...history, ...turn], controller.signal);
      } finally {
        this.busy = undefined;
        this.responses++;
        if (this.expired) this.goAway();
        else if (draining) this.shutDown();
      }
    }

    /** `generate: false`: the state is kept for the next turn; nothing is generated or charged. */
    private warmUp(body: Item, conversation: Item[]): void {
      const id = newResponseId();
      const response = completeResponse(
        { id, status: "completed", output: [], usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 } },
        { ...body, store: false },
      );
      response.previous_response_id = null;
      this.keep(id, conversation);
      this.send({
        type: "response.created",
        sequence_number: 0,
        response: { ...response, status: "in_progress", completed_at: null },
      });
      this.send({ type: "response.completed", sequence_number: 1, response });
    }

    private keep(id: string, conversation: Item[]): void {
      this.chains.set(id, conversation);
      if (this.chains.size > LOCAL_CHAIN_LIMIT) this.chains.delete(this.chains.keys().next().value!);
    }

    /** One create through the HTTP pipeline, its events relayed as they come. */
    private async create(body: Item, conversation: Item[], signal: AbortSignal): Promise<void> {
      const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
      for (const name of FORWARDED) {
        const value = this.req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      let res: Response;
      try {
        res = await fetch(`${selfUrl()}${this.url.pathname}${this.url.search}`, {
          method: "POST",
          headers,
          body: JSON.stringify({ ...body, stream: true }),
          signal,
        });
      } catch (err) {
        if (signal.aborted) return;
        log.warn({ err, path: this.url.pathname }, "websocket: the gateway's own port did not answer a create");
        return this.error(
          new GatewayError("ServiceUnavailable", "The gateway could not run this response; retry shortly."),
        );
      }
      if (!res.ok || !(res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
        const text = await res.text().catch(() => "");
        let envelope: unknown;
        try {
          envelope = JSON.parse(text);
        } catch {
          envelope = { error: { message: text.slice(0, 500), code: null } };
        }
        return this.send({ type: "error", status: res.status, ...(envelope as object) });
      }
      const parser = new SseParser();
      const relay = async (events: ReturnType<SseParser["push"]>) => {
        for (const { event, data } of events) {
          if (!data || data === "[DONE]") continue;
          await this.relayed(data);
          // The end of a response: a store: false one is kept with the connection for its continuations.
          if (body.store === false && (event === "response.completed" || event === "response.incomplete")) {
            const end = JSON.parse(data) as { response?: { id?: string; output?: Item[] } };
            if (end.response?.id)
              this.keep(end.response.id, [...conversation, ...(end.response.output ?? []).map(asInput)]);
          }
        }
      };
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) await relay(parser.push(chunk));
        await relay(parser.end());
      } catch (err) {
        if (!signal.aborted) log.warn({ err, path: this.url.pathname }, "websocket: a create's stream broke");
      }
    }
  }

  return {
    get open() {
      return connections.size;
    },
    drain() {
      draining = true;
      for (const c of connections) c.drain();
    },
    close() {
      for (const c of connections) c.close();
      wss.close();
    },
  };
}
