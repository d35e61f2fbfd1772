// OpenAI streams out, as StreamAdapters for core/stream/sse-writer.ts. Events are parsed and sent
// again as clean SSE (comments and keep-alives dropped, LF only), never piped as bytes.
// - Chat and legacy completions: `data: <chunk>\n\n` lines and one `data: [DONE]\n\n`; a failure after
//   the headers is one `data: {"error":{…}}` event (the SDKs raise on it) and the cut.
// - Responses: typed events, `event: <type>\ndata: <event>\n\n` (the SDKs dispatch on them); the
//   stream is complete at its terminal event (`response.completed`, `.incomplete`, `.failed`); a
//   failure after the headers is one `event: error` (O#/components/schemas/ResponseErrorEvent) and the cut.
import { type ErrorBody, GatewayError } from "../../core/errors.ts";
import {
  contentChars,
  engineStreamError,
  parseEventJson,
  type StreamAdapter,
  type StreamSink,
} from "../../core/stream/sse-writer.ts";
import { usageOf } from "../../core/pipeline/usage.ts";
import { redactSecrets } from "../../core/secrets.ts";
import { createResponsesEventCompleter } from "./responses-events.ts";

const DONE = "data: [DONE]\n\n";

/** Data as one SSE line: an engine's multi-line `data:` JSON is serialised again, on one line. */
const oneLine = (data: string, parsed: unknown): string => (data.includes("\n") ? JSON.stringify(parsed) : data);

const incomplete = () =>
  new GatewayError("UpstreamStreamError", "The engine closed the stream before it finished.", { status: 502 });

interface ChunkChoice {
  finish_reason?: string | null;
  text?: string;
  delta?: {
    content?: string | null;
    tool_calls?: unknown;
    reasoning_content?: string | null;
    reasoning?: string | null;
  };
}

/** Chat completion chunks (O#/components/schemas/CreateChatCompletionStreamResponse) and legacy
 * completion chunks (CreateCompletionResponse objects), as the engine sends them. */
/** `hideUsage`: the gateway asked for the usage (to charge it), the client did not: it is read, not sent. */
export function createChunkStreamAdapter(errorBody: ErrorBody, hideUsage = false): StreamAdapter {
  let sawFinish = false;
  const note = (
    sink: StreamSink,
    chunk: { choices?: unknown; usage?: StreamSink["outcome"]["usage"] | null },
  ): void => {
    if (Array.isArray(chunk.choices)) {
      for (const choice of chunk.choices as ChunkChoice[]) {
        if (choice === null || typeof choice !== "object") continue;
        const delta = choice.delta;
        if (choice.text || delta?.content || delta?.tool_calls || delta?.reasoning_content || delta?.reasoning)
          sink.content(contentChars(choice));
        if (choice.finish_reason) {
          sawFinish = true;
          sink.outcome.finishReasons.push(choice.finish_reason);
        }
      }
    }
    if (chunk.usage) sink.outcome.usage = usageOf(chunk.usage);
  };
  return {
    event({ data }, sink) {
      if (data === "[DONE]") return sink.end();
      const chunk = parseEventJson(data);
      const engineError = engineStreamError(chunk);
      if (engineError) throw engineError;
      if (chunk === null || typeof chunk !== "object" || Array.isArray(chunk)) {
        throw new GatewayError(
          "UpstreamInvalidResponse",
          "The engine sent a stream event that is not a completion chunk.",
          { status: 502 },
        );
      }
      note(sink, chunk);
      if (hideUsage && (chunk as { usage?: unknown }).usage) {
        const { usage: _usage, ...rest } = chunk as { usage?: unknown; choices?: unknown };
        if (!Array.isArray(rest.choices) || rest.choices.length === 0) return; // the usage-only chunk
        return sink.send(`data: ${JSON.stringify(rest)}\n\n`);
      }
      sink.send(`data: ${oneLine(data, chunk)}\n\n`);
    },
    finish(sink, ended) {
      // An engine that ends the body after a finish_reason but without [DONE] still finished.
      if (!ended && !sawFinish) throw incomplete();
      sink.send(DONE);
    },
    errorEvent: (error) => `data: ${JSON.stringify(errorBody(error))}\n\n`,
  };
}

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

interface ResponsesEvent {
  [field: string]: unknown;
  type?: unknown;
  sequence_number?: unknown;
  message?: unknown;
  code?: unknown;
  response?: { status?: unknown; usage?: { input_tokens?: number; output_tokens?: number } | null };
}

/** What the gateway's Responses state does to a stream (responses-state.ts): every response object gets its
 * id, chain and `store`; the final one is kept (before the client hears it is complete). */
export interface ResponsesStreamState {
  own(response: Record<string, unknown>): void;
  keep(response: Record<string, unknown>): void | Promise<void>;
  /** Number every event from 0, whatever the engine numbered (a background run's events are replayed by
   * their sequence_number). */
  renumber?: boolean;
  /** An output item the gateway puts first (an automatic compaction's): announced after response.created,
   * and every engine item's output_index moved one on. Needs `renumber`. */
  leading?: Record<string, unknown>;
}

export const TERMINAL_EVENTS: ReadonlySet<string> = TERMINAL;

/** Responses API events (O#/components/schemas/ResponseStreamEvent), completed where the engine left
 * fields out (responses-events.ts); `model` is the one the engine was asked for. */
export function createResponsesStreamAdapter(model?: string, state?: ResponsesStreamState): StreamAdapter {
  let lastSequence = -1;
  const complete = createResponsesEventCompleter(model);
  return {
    event({ data }, sink) {
      if (data === "[DONE]") return; // not part of the Responses API; the terminal event ends the stream
      const event = parseEventJson(data) as ResponsesEvent | null;
      const engineError = engineStreamError(event); // a chat-style `{"error":…}` sent on a Responses stream
      if (engineError) throw engineError;
      if (event === null || typeof event !== "object" || typeof event.type !== "string") {
        throw new GatewayError(
          "UpstreamInvalidResponse",
          "The engine sent a stream event that is not a Responses API event.",
          { status: 502 },
        );
      }
      // llama.cpp's events carry no sequence_number, which the API requires on every event: it is
      // numbered here, in order, so clients that track it see the API's stream.
      let changed = complete(event as ResponsesEvent & { type: string });
      const leading = state?.leading;
      if (leading && typeof (event as { output_index?: unknown }).output_index === "number") {
        (event as { output_index: number }).output_index += 1;
        changed = true;
      }
      let kept: void | Promise<void> = undefined;
      if (state && event.response !== null && typeof event.response === "object") {
        state.own(event.response as Record<string, unknown>); // the gateway's id, chain and `store`
        changed = true;
        // Kept before the client hears it is complete: a store that fails ends the stream with an error.
        if (TERMINAL.has(event.type)) kept = state.keep(event.response as Record<string, unknown>);
      }
      if (kept) return kept.then(() => emit(event as ResponsesEvent & { type: string }, data, changed, sink));
      emit(event as ResponsesEvent & { type: string }, data, changed, sink);
      if (leading && event.type === "response.created") {
        for (const type of ["response.output_item.added", "response.output_item.done"])
          emit(
            { type, output_index: 0, item: leading } as unknown as ResponsesEvent & { type: string },
            "",
            true,
            sink,
          );
      }
    },
    finish(_sink, ended) {
      if (!ended) throw incomplete();
    },
    errorEvent: (error) => {
      const event = {
        type: "error",
        code: error.code,
        message: error.message,
        param: null,
        sequence_number: lastSequence + 1,
      };
      return `event: error\ndata: ${JSON.stringify(event)}\n\n`;
    },
  };

  function emit(event: ResponsesEvent & { type: string }, data: string, changed: boolean, sink: StreamSink): void {
    if (typeof event.sequence_number === "number" && !state?.renumber) lastSequence = event.sequence_number;
    else {
      event.sequence_number = ++lastSequence;
      changed = true;
    }
    const text = changed ? JSON.stringify(event) : data;
    if (event.type === "error") {
      const message = typeof event.message === "string" ? event.message : "The engine reported an error mid-stream.";
      throw new GatewayError("UpstreamStreamError", redactSecrets(message.slice(0, 2000)), { status: 502 });
    }
    if (
      event.type === "response.output_text.delta" ||
      event.type === "response.function_call_arguments.delta" ||
      event.type === "response.reasoning_text.delta"
    )
      sink.content(typeof event.delta === "string" ? event.delta.length : 0);
    sink.send(`event: ${event.type}\ndata: ${oneLine(text, event)}\n\n`);
    if (TERMINAL.has(event.type)) {
      const usage = event.response?.usage;
      if (usage) sink.outcome.usage = usageOf(usage);
      if (typeof event.response?.status === "string") sink.outcome.finishReasons.push(event.response.status);
      sink.end();
    }
  }
}
