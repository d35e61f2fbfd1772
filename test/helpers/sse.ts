// Reads a gateway SSE response the way the Azure SDKs do: the raw lines (as Python's SDK checks them)
// and the events @azure/core-sse yields (as the JS SDK reads them).
import { createSseStream } from "@azure/core-sse";
import { Readable } from "node:stream";

export interface RawStream {
  status: number;
  headers: Headers;
  text: string;
  /** The body ended with an error (connection cut) rather than cleanly. */
  broken: boolean;
}

export async function readRaw(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawStream> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json", ...headers },
    body: JSON.stringify(body),
  });
  let text = "";
  let broken = false;
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk, { stream: true });
  } catch {
    broken = true;
  }
  return { status: res.status, headers: res.headers, text, broken };
}

/** The checks the Python SDK applies line by line: only `data: ` lines and empty lines, LF only. */
export function pythonSdkAccepts(text: string): boolean {
  if (text.includes("\r")) return false;
  return text.split("\n").every((line) => line === "" || line.startsWith("data: "));
}

export async function coreSseEvents(body: NodeJS.ReadableStream | ReadableStream<Uint8Array>): Promise<string[]> {
  const stream = body instanceof ReadableStream ? Readable.fromWeb(body as never) : body;
  const out: string[] = [];
  for await (const event of createSseStream(stream as never)) {
    out.push(event.data);
    if (event.data === "[DONE]") break;
  }
  return out;
}
