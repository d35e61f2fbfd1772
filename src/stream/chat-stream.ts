// Upstream SSE chunks -> Azure streaming updates on the client's socket, one `data: <json>\n\n` per
// update, LF only, no comments, and exactly one `data: [DONE]\n\n` on a complete stream.
//
// Usage: the engine is asked for `stream_options.include_usage`, which ends the stream with a
// usage-only chunk (`choices: []`). Azure requires choices (minItems 1) and some clients index
// choices[0], so the update carrying the last finish_reason is held back until that usage arrives and
// is sent once, with `usage` on it. No usage-only update is sent.
//
// Failure after the headers (engine error event, reset, stall past --idle-timeout, bad JSON): the
// client gets one `data: {"error":{"code","message"}}` event and then the connection is closed
// without the terminating chunk and without [DONE], so every SDK raises instead of seeing a short
// answer as complete.
import type { ServerResponse } from "node:http";
import { GatewayError } from "../http/errors.ts";
import type { ChatUpdateMapper } from "../mappers/chat-update.ts";
import type { AzureCompletionsUsage, AzureStreamingUpdate, OpenAIChatChunk } from "../mappers/types.ts";
import { ClientClosed, classifyUpstreamFailure } from "../upstream/failures.ts";
import type { RequestSignal } from "../upstream/request-signal.ts";
import { SseParser } from "./sse.ts";

export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
});
const DONE = "data: [DONE]\n\n";

export interface StreamOutcome {
  /** true when [DONE] was sent. */
  completed: boolean;
  clientAborted: boolean;
  error?: GatewayError;
  updates: number;
  usage?: AzureCompletionsUsage;
  /** finish_reason of each choice that finished. */
  finishReasons: string[];
  /** ms from the start of the stream to the first update with content. */
  firstTokenMs?: number;
}

function engineStreamError(value: unknown): GatewayError | undefined {
  if (value === null || typeof value !== "object" || !("error" in value)) return undefined;
  const error = (value as { error: unknown }).error;
  const message = typeof error === "string" ? error : typeof (error as { message?: unknown })?.message === "string" ? (error as { message: string }).message : "The engine reported an error mid-stream.";
  return new GatewayError("UpstreamStreamError", message.slice(0, 2000), { status: 502 });
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

export function createStreamOutcome(): StreamOutcome {
  return { completed: false, clientAborted: false, updates: 0, finishReasons: [] };
}

/** Streams `body` to `res`, filling `outcome` as it goes (it is complete once the response closes,
 * which can be before this returns: the upstream body is drained after [DONE]). */
export async function writeChatStream(body: AsyncIterable<Uint8Array>, res: ServerResponse, mapper: ChatUpdateMapper, signal: RequestSignal, outcome = createStreamOutcome()): Promise<StreamOutcome> {
  const started = performance.now();
  const parser = new SseParser();
  let pending: AzureStreamingUpdate | undefined;
  let sawFinish = false;
  let sawDone = false;

  // Updates made from one upstream read go out in one write: one syscall per read, not per event.
  let out = "";
  /** Writes what is pending; a promise only when the socket's buffer is full (not one per read). */
  const flush = (): Promise<void> | undefined => {
    if (!out) return undefined;
    const text = out;
    out = "";
    return res.write(text) ? undefined : drained(res, signal);
  };
  const send = (update: AzureStreamingUpdate): void => {
    if (outcome.firstTokenMs === undefined && update.choices.some((c) => c.delta.content || c.delta.tool_calls || c.delta.reasoning_content)) {
      outcome.firstTokenMs = performance.now() - started;
    }
    if (update.usage) outcome.usage = update.usage;
    outcome.updates++;
    out += `data: ${JSON.stringify(update)}\n\n`;
  };
  const handle = (data: string): void => {
    if (data === "[DONE]") {
      sawDone = true;
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new GatewayError("UpstreamInvalidResponse", "The engine sent a stream event that is not JSON.", { status: 502 });
    }
    const engineError = engineStreamError(chunk);
    if (engineError) throw engineError;
    const update = mapper.map(chunk as OpenAIChatChunk);
    if (update.choices.length === 0) {
      if (!update.usage) return;
      if (pending) {
        pending.usage = update.usage;
        send(pending);
        pending = undefined;
        return;
      }
      return send(update);
    }
    if (pending) {
      send(pending);
      pending = undefined;
    }
    if (update.choices.some((c) => c.finish_reason !== null)) {
      sawFinish = true;
      for (const c of update.choices) if (c.finish_reason !== null) outcome.finishReasons.push(c.finish_reason);
      if (!update.usage) {
        pending = update;
        return;
      }
    }
    send(update);
  };

  if (!res.headersSent) res.writeHead(200, SSE_HEADERS);
  res.flushHeaders();
  const finish = async (): Promise<void> => {
    if (pending) send(pending);
    pending = undefined;
    out += DONE;
    await flush();
    res.end();
    outcome.completed = true;
  };
  try {
    // After [DONE] the client is answered at once, but the loop still reads the upstream body to its end
    // (engines end it right after [DONE]): breaking out would destroy the keep-alive connection.
    for await (const bytes of body) {
      if (sawDone) continue;
      for (const event of parser.push(bytes)) {
        handle(event.data);
        if (sawDone) break;
      }
      if (sawDone) await finish();
      else {
        const full = flush();
        if (full) await full;
      }
    }
    if (!sawDone) {
      for (const event of parser.end()) handle(event.data);
      // An engine that ends the body after a finish_reason but without [DONE] still finished.
      if (!sawDone && !sawFinish) throw new GatewayError("UpstreamStreamError", "The engine closed the stream before it finished.", { status: 502 });
      await finish();
    }
  } catch (err) {
    if (outcome.completed) return outcome; // the client has its whole answer; only the drain after [DONE] failed
    if (signal.aborted && signal.reason instanceof ClientClosed) {
      outcome.clientAborted = true;
      res.destroy();
      return outcome;
    }
    const error = classifyUpstreamFailure(err, signal);
    outcome.error = error;
    if (!res.destroyed) {
      // What was mapped before the failure still goes out, then the error event, then the cut.
      const event = `${out}data: ${JSON.stringify({ error: { code: error.code, message: error.message } })}\n\n`;
      res.write(event, () => res.destroy());
      setTimeout(() => res.destroy(), 1000).unref(); // the write callback never fires on a dead socket
    }
  }
  return outcome;
}
