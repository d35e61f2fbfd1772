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
  /** The `data` lines of the event being read, joined with LF. */
  private data = "";
  private hasData = false;
  private event = "";
  private id: string | undefined;
  /** A chunk ended in CR: an LF at the start of the next one belongs to the same line end. */
  private pendingCR = false;

  /** Feeds bytes; returns the events they complete. */
  push(chunk: Uint8Array): SseEvent[] {
    return this.consume(
      this.decoder.write(
        Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength),
      ),
    );
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
    const input = this.buffer ? this.buffer + text : text;
    let start = 0;
    if (input.indexOf("\r") === -1) {
      // LF-only, as every engine we know sends: indexOf, not a loop over every character.
      for (let nl = input.indexOf("\n"); nl !== -1; nl = input.indexOf("\n", start)) {
        this.line(input.slice(start, nl), events);
        start = nl + 1;
      }
    } else {
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
    }
    this.buffer = start === 0 ? input : input.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") return this.dispatch(events);
    if (line.startsWith("data: ")) return this.addData(line.slice(6)); // the common case, without the field split
    if (line.charCodeAt(0) === 58 /* : */) return; // comment (TGI keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    switch (field) {
      case "data":
        this.addData(value);
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

  private addData(value: string): void {
    this.data = this.hasData ? `${this.data}\n${value}` : value;
    this.hasData = true;
  }

  private dispatch(events: SseEvent[]): void {
    if (this.hasData) {
      const event: SseEvent = { event: this.event || "message", data: this.data };
      if (this.id !== undefined) event.id = this.id;
      events.push(event);
    }
    this.data = "";
    this.event = "";
    this.hasData = false;
  }
}
