// Upstream chat chunks -> Azure streaming updates (`data: <json>\n\n`, exactly one `data: [DONE]\n\n`
// on a complete stream), as a StreamAdapter for core/stream/sse-writer.ts.
//
// Usage: the engine is asked for `stream_options.include_usage`, which ends the stream with a
// usage-only chunk (`choices: []`). Azure requires choices (minItems 1) and some clients index
// choices[0], so the update carrying the last finish_reason is held back until that usage arrives and
// is sent once, with `usage` on it. No usage-only update is sent.
//
// Failure after the headers: one `data: {"error":{"code","message"}}` event, then the cut.
import { GatewayError } from "../../core/errors.ts";
import { usageOf } from "../../core/pipeline/usage.ts";
import {
  contentChars,
  engineStreamError,
  parseEventJson,
  type StreamAdapter,
  type StreamSink,
} from "../../core/stream/sse-writer.ts";
import type { ChatUpdateMapper } from "./mappers/chat-update.ts";
import type { AzureStreamingUpdate, OpenAIChatChunk } from "./mappers/types.ts";

const DONE = "data: [DONE]\n\n";

export function createAzureChatStreamAdapter(mapper: ChatUpdateMapper): StreamAdapter {
  let pending: AzureStreamingUpdate | undefined;
  let sawFinish = false;

  const send = (sink: StreamSink, update: AzureStreamingUpdate): void => {
    if (update.choices.some((c) => c.delta.content || c.delta.tool_calls || c.delta.reasoning_content))
      sink.content(update.choices.reduce((chars, c) => chars + contentChars(c), 0));
    if (update.usage) sink.outcome.usage = usageOf(update.usage);
    sink.send(`data: ${JSON.stringify(update)}\n\n`);
  };

  return {
    event({ data }, sink) {
      if (data === "[DONE]") return sink.end();
      const chunk = parseEventJson(data);
      const engineError = engineStreamError(chunk);
      if (engineError) throw engineError;
      const update = mapper.map(chunk as OpenAIChatChunk);
      if (update.choices.length === 0) {
        if (!update.usage) return;
        if (pending) {
          pending.usage = update.usage;
          send(sink, pending);
          pending = undefined;
          return;
        }
        return send(sink, update);
      }
      if (pending) {
        send(sink, pending);
        pending = undefined;
      }
      if (update.choices.some((c) => c.finish_reason !== null)) {
        sawFinish = true;
        for (const c of update.choices) if (c.finish_reason !== null) sink.outcome.finishReasons.push(c.finish_reason);
        if (!update.usage) {
          pending = update;
          return;
        }
      }
      send(sink, update);
    },
    finish(sink, ended) {
      // An engine that ends the body after a finish_reason but without [DONE] still finished.
      if (!ended && !sawFinish)
        throw new GatewayError("UpstreamStreamError", "The engine closed the stream before it finished.", {
          status: 502,
        });
      if (pending) send(sink, pending);
      pending = undefined;
      sink.send(DONE);
    },
    errorEvent(error) {
      return `data: ${JSON.stringify({ error: { code: error.code, message: error.message } })}\n\n`;
    },
  };
}
