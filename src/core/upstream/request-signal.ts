// One abort signal per inbound request, for its whole life (headers, first token, every chunk): it fires
// when the client goes away or the total timeout passes, so the engine stops generating.
// An EventEmitter, which undici accepts as a signal, not an AbortController: constructing a WHATWG
// AbortSignal and listening on it cost ~6 µs per request (about 1.5% of the gateway's CPU per request).
import { EventEmitter } from "node:events";
import type { ServerResponse } from "node:http";
import { ClientClosed, TotalTimeout } from "./failures.ts";

/** What the failure classifiers read of a signal; an AbortSignal fits too. */
export interface AbortState {
  readonly aborted: boolean;
  readonly reason: unknown;
}

export class RequestSignal extends EventEmitter implements AbortState {
  aborted = false;
  reason: unknown = undefined;

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit("abort");
  }
}

export interface RequestAbort {
  signal: RequestSignal;
  dispose(): void;
}

export function createRequestSignal(res: ServerResponse, totalTimeoutMs: number): RequestAbort {
  const signal = new RequestSignal();
  const onClose = () => {
    clearTimeout(timer); // the response is over: an answer still piped to it has its own end
    if (!res.writableFinished) signal.abort(new ClientClosed("client closed the connection"));
  };
  res.on("close", onClose); // `close` comes once; on() spares the wrapper once() allocates
  const timer: NodeJS.Timeout = setTimeout(
    () => signal.abort(new TotalTimeout(`no answer within ${totalTimeoutMs} ms`)),
    totalTimeoutMs,
  );
  timer.unref();
  return {
    signal,
    dispose() {
      clearTimeout(timer);
      res.off("close", onClose);
    },
  };
}
