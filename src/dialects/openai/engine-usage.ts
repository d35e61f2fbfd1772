// What an engine route passed through spent (issue 32: every token charged on every path), read from the
// answer's bytes on their way to the client, which get them unchanged and as they come: the usage it
// reports (OpenAI's `usage`, Anthropic's message_start and message_delta, a Responses event's
// `response.usage`, a transcription's `usage`) and, for a stream, the content it delivered, which is what
// a stream cut short is charged (core/consumers/limits.ts, tokensSpent).
import { pipeline, type Readable, Transform } from "node:stream";
import type { Exchange, Usage } from "../../core/pipeline/exchange.ts";
import { usageOf } from "../../core/pipeline/usage.ts";
import { SseParser } from "../../core/stream/sse.ts";
import { contentChars, createStreamOutcome, noteContent, type StreamOutcome } from "../../core/stream/sse-writer.ts";

/** A JSON answer longer than this is passed on without its usage read (the prompt's estimate is charged). */
const JSON_USAGE_LIMIT_BYTES = 1 << 20;

type Event = {
  usage?: unknown;
  message?: { usage?: unknown } | null;
  response?: { usage?: unknown } | null;
  delta?: string | { text?: unknown; partial_json?: unknown; thinking?: unknown } | null;
  choices?: unknown;
};

/** Later reports win field by field: Anthropic gives the input in message_start, the output in message_delta. */
function merged(before: Usage | undefined, raw: unknown): Usage | undefined {
  const now = usageOf(raw);
  if (!now) return before;
  const out: Usage = { ...before };
  for (const [key, value] of Object.entries(now) as Array<[keyof Usage, number | undefined]>)
    if (value !== undefined) out[key] = value;
  return out;
}

const length = (value: unknown) => (typeof value === "string" ? value.length : 0);

/** One streamed event's share: its usage, and its generated content. */
export function noteEvent(outcome: StreamOutcome, data: string): void {
  let event: Event;
  try {
    event = JSON.parse(data) as Event;
  } catch {
    return; // [DONE], or not JSON: nothing to count
  }
  if (event === null || typeof event !== "object") return;
  for (const raw of [event.usage, event.message?.usage, event.response?.usage])
    if (raw) outcome.usage = merged(outcome.usage, raw);
  const delta = event.delta;
  // Anthropic's content_block_delta, or a Responses event's delta (a string).
  let chars =
    typeof delta === "string"
      ? length(delta)
      : delta && typeof delta === "object"
        ? length(delta.text) + length(delta.partial_json) + length(delta.thinking)
        : 0;
  if (Array.isArray(event.choices))
    for (const choice of event.choices as Array<Parameters<typeof contentChars>[0] | null>)
      if (choice && typeof choice === "object") chars += contentChars(choice);
  if (chars > 0) noteContent(outcome, chars);
}

/** The answer's body, passed on unchanged, with what it spent noted in the exchange as it goes: a stream's
 * outcome (its usage and content), a JSON answer's usage when it ends. */
export function meteredAnswer(body: Readable, contentType: string | null, exchange: Exchange): Readable {
  const type = contentType?.toLowerCase() ?? "";
  let tap: Transform;
  if (type.startsWith("text/event-stream")) {
    const outcome = createStreamOutcome();
    exchange.streamOutcome = outcome;
    const parser = new SseParser();
    tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        for (const event of parser.push(chunk)) noteEvent(outcome, event.data);
        done(null, chunk);
      },
      flush(done) {
        for (const event of parser.end()) noteEvent(outcome, event.data);
        outcome.completed = true;
        done();
      },
    });
  } else if (type.includes("json")) {
    const chunks: Buffer[] = [];
    let size = 0;
    tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length;
        if (size <= JSON_USAGE_LIMIT_BYTES) chunks.push(chunk);
        done(null, chunk);
      },
      flush(done) {
        if (size <= JSON_USAGE_LIMIT_BYTES) {
          try {
            const answer = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Event | null;
            exchange.usage = usageOf(answer?.usage);
          } catch {
            // not JSON after all: its prompt's estimate is charged
          }
        }
        done();
      },
    });
  } else return body;
  return pipeline(body, tap, () => {});
}
