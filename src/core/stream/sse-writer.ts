// Upstream SSE -> clean SSE on the client's socket, for every dialect. The writer owns what all streams
// share: headers, one socket write per upstream read, back-pressure, client aborts, the drain of the
// upstream body after the end (so the keep-alive connection survives), and failures after the headers
// (one error event in the dialect's shape, then the connection is cut, so SDKs raise instead of taking
// a truncated answer as complete). What each event becomes is the dialect's StreamAdapter.
import type { ServerResponse } from "node:http";
import type { Usage } from "../pipeline/exchange.ts";
import { redactSecrets } from "../secrets.ts";
import { GatewayError } from "../errors.ts";
import { ClientClosed, classifyUpstreamFailure } from "../upstream/failures.ts";
import type { RequestSignal } from "../upstream/request-signal.ts";
import { SseParser, type SseEvent } from "./sse.ts";

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
});

export type StreamUsage = Usage;

export interface StreamOutcome {
  /** The stream ended as its API says a complete stream ends. */
  completed: boolean;
  clientAborted: boolean;
  error?: GatewayError;
  /** Events sent to the client. */
  updates: number;
  /** Events that carried generated content (text, tool call arguments, reasoning), and their characters. */
  contentEvents: number;
  contentChars: number;
  usage?: StreamUsage;
  /** finish_reason of each choice that finished (or the Responses status). */
  finishReasons: string[];
  /** ms from the start of the stream to the first event with content. */
  firstTokenMs?: number;
}

export function createStreamOutcome(): StreamOutcome {
  return { completed: false, clientAborted: false, updates: 0, contentEvents: 0, contentChars: 0, finishReasons: [] };
}

/** Counts one event of generated content of `chars` characters. */
export function noteContent(outcome: StreamOutcome, chars: number): void {
  outcome.contentEvents++;
  outcome.contentChars += chars;
}

/** The output tokens a stream delivered, from its content: an engine sends at least a token an event, and a
 * token is about four characters. */
export const streamedTokens = (outcome: StreamOutcome): number =>
  Math.max(outcome.contentEvents, Math.ceil(outcome.contentChars / 4));

/** Where an adapter puts what it sends; `end()` says the upstream stream is complete ([DONE] or its
 * terminal event), after which nothing more is read into the answer. */
export interface StreamSink {
  readonly outcome: StreamOutcome;
  send(text: string): void;
  /** An event with generated content of `chars` characters; the first marks the time of the first token. */
  content(chars: number): void;
  end(): void;
}

export interface StreamAdapter {
  /** One upstream event. Throws a GatewayError for an engine error event or a body that is not the API's.
   * A promise (rare: the terminal event of a stored response) holds the next event until it settles. */
  event(event: SseEvent, sink: StreamSink): void | Promise<void>;
  /** The upstream body ended (after `end()` or not): send what is held back, or throw when the stream
   * is incomplete. */
  finish(sink: StreamSink, ended: boolean): void;
  /** The event that tells the client the stream failed. */
  errorEvent(error: GatewayError, outcome: StreamOutcome): string;
}

type ToolCallDelta = { function?: { arguments?: unknown } | null };
/** The characters of generated content in a chat delta or a legacy completion choice. */
export function contentChars(choice: {
  text?: unknown;
  delta?: { content?: unknown; reasoning_content?: unknown; reasoning?: unknown; tool_calls?: unknown } | null;
}): number {
  const length = (value: unknown) => (typeof value === "string" ? value.length : 0);
  const delta = choice.delta;
  let chars =
    length(choice.text) + length(delta?.content) + length(delta?.reasoning_content) + length(delta?.reasoning);
  if (Array.isArray(delta?.tool_calls))
    for (const call of delta.tool_calls as ToolCallDelta[]) chars += length(call?.function?.arguments);
  return chars;
}

/** Engine error events: `{"error": "…"}` (TGI) or `{"error": {"message": …}}` (OpenAI, vLLM). */
export function engineStreamError(value: unknown): GatewayError | undefined {
  if (value === null || typeof value !== "object" || !("error" in value)) return undefined;
  const error = (value as { error: unknown }).error;
  if (error === null || error === undefined) return undefined;
  const message =
    typeof error === "string"
      ? error
      : typeof (error as { message?: unknown })?.message === "string"
        ? (error as { message: string }).message
        : "The engine reported an error mid-stream.";
  return new GatewayError("UpstreamStreamError", redactSecrets(message.slice(0, 2000)), { status: 502 });
}

/** JSON.parse of one event's data; an engine that sends something else is named as such. */
export function parseEventJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new GatewayError("UpstreamInvalidResponse", "The engine sent a stream event that is not JSON.", {
      status: 502,
    });
  }
}

/** Resolves when a full socket buffer drains; rejects with the signal's reason when it fires first
 * (a client that stops reading and then leaves never drains). */
function drained(res: ServerResponse, signal: RequestSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      res.off("drain", settle);
      signal.off("abort", settle);
      if (signal.aborted) reject(signal.reason);
      else resolve();
    };
    if (signal.aborted) return settle();
    res.once("drain", settle);
    signal.once("abort", settle);
  });
}

/** Streams `body` to `res` through `adapter`, filling `outcome` as it goes (it is complete once the
 * response closes, which can be before this returns: the upstream body is drained after the end). */
export async function writeSseStream(
  body: AsyncIterable<Uint8Array>,
  res: ServerResponse,
  adapter: StreamAdapter,
  signal: RequestSignal,
  outcome = createStreamOutcome(),
): Promise<StreamOutcome> {
  const started = performance.now();
  const parser = new SseParser();
  let ended = false;
  // Events made from one upstream read go out in one write: one syscall per read, not per event.
  let out = "";
  const sink: StreamSink = {
    outcome,
    send(text) {
      outcome.updates++;
      out += text;
    },
    content(chars) {
      noteContent(outcome, chars);
      if (outcome.firstTokenMs === undefined) outcome.firstTokenMs = performance.now() - started;
    },
    end() {
      ended = true;
    },
  };
  /** Writes what is pending; a promise only when the socket's buffer is full (not one per read). */
  const flush = (): Promise<void> | undefined => {
    if (!out) return undefined;
    const text = out;
    out = "";
    return res.write(text) ? undefined : drained(res, signal);
  };
  const finish = async (): Promise<void> => {
    adapter.finish(sink, ended);
    await flush();
    res.end();
    outcome.completed = true;
  };

  if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  try {
    // After the end the client is answered at once, but the loop still reads the upstream body to its end
    // (engines end it right after): breaking out would destroy the keep-alive connection.
    for await (const bytes of body) {
      if (ended) continue;
      for (const event of parser.push(bytes)) {
        const pending = adapter.event(event, sink);
        if (pending) await pending;
        if (ended) break;
      }
      if (ended) await finish();
      else {
        const full = flush();
        if (full) await full;
      }
    }
    if (!ended) {
      for (const event of parser.end()) if (!ended) await adapter.event(event, sink);
      await finish();
    }
  } catch (err) {
    if (outcome.completed) return outcome; // the client has its whole answer; only the drain after the end failed
    if (signal.aborted && signal.reason instanceof ClientClosed) {
      outcome.clientAborted = true;
      res.destroy();
      return outcome;
    }
    const error = classifyUpstreamFailure(err, signal);
    outcome.error = error;
    if (!res.destroyed) {
      // What was sent before the failure still goes out, then the error event, then the cut.
      res.write(out + adapter.errorEvent(error, outcome), () => res.destroy());
      setTimeout(() => res.destroy(), 1000).unref(); // the write callback never fires on a dead socket
    }
  }
  return outcome;
}
