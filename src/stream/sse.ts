// Bytes -> Server-Sent Events, per the WHATWG event-stream rules: lines end in LF, CR or CRLF (and may be
// split across chunks, even between CR and LF), `:` lines are comments, `data:` lines of one event are
// joined with LF, a blank line dispatches, and a last event without its blank line is still delivered.
// No JSON here.
import { StringDecoder } from "node:string_decoder";

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

export class SseParser {
  // StringDecoder, not TextDecoder: a streaming TextDecoder holds an ICU converter per stream, which
  // showed in RSS with 1,000 streams held; StringDecoder keeps at most 3 pending bytes.
  private readonly decoder = new StringDecoder("utf8");
  private buffer = "";
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private hasData = false;
  /** A chunk ended in CR: an LF at the start of the next one belongs to the same line end. */
  private pendingCR = false;

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.consume(this.decoder.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  }

  /** Ends the stream: a final event without its blank line is delivered. */
  end(): SseEvent[] {
    const events = this.consume(this.decoder.end());
    if (this.buffer.length > 0) this.line(this.buffer, events);
    this.buffer = "";
    this.dispatch(events);
    return events;
  }

  private consume(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.pendingCR && text.startsWith("\n")) text = text.slice(1);
    this.pendingCR = false;
    let input = this.buffer + text;
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.line(input.slice(start, i), events);
      if (c === 13) {
        if (i + 1 === input.length) this.pendingCR = true;
        else if (input.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    input = input.slice(start);
    this.buffer = input;
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") return this.dispatch(events);
    if (line.charCodeAt(0) === 58 /* : */) return; // comment (TGI keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasData = true;
        break;
      case "event":
        this.event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.id = value;
        break;
      default: // `retry` and unknown fields carry nothing for us
    }
  }

  private dispatch(events: SseEvent[]): void {
    if (this.hasData) {
      events.push({ event: this.event || "message", data: this.data.join("\n"), ...(this.id !== undefined ? { id: this.id } : {}) });
    }
    this.data = [];
    this.event = "";
    this.hasData = false;
  }
}
