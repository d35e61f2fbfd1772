// One AbortSignal per inbound request, for its whole life (headers, first token, every chunk):
// it fires when the client goes away or the total timeout passes, so the engine stops generating.
import type { ServerResponse } from "node:http";
import { ClientClosed, TotalTimeout } from "./failures.ts";

export interface RequestSignal {
  signal: AbortSignal;
  dispose(): void;
}

export function createRequestSignal(res: ServerResponse, totalTimeoutMs: number): RequestSignal {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new ClientClosed("client closed the connection"));
  };
  res.once("close", onClose);
  const timer = setTimeout(() => controller.abort(new TotalTimeout(`no answer within ${totalTimeoutMs} ms`)), totalTimeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      res.off("close", onClose);
    },
  };
}
