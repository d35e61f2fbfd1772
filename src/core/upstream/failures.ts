// Network-level upstream failures -> gateway errors, classified by code (never by message text).
import { GatewayError } from "../errors.ts";
import type { AbortState } from "./request-signal.ts";

const TIMEOUT_CODES = new Set(["UND_ERR_CONNECT_TIMEOUT", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ETIMEDOUT"]);

/** Reasons a request's own AbortSignal carries, so an abort can be told apart from a fault. */
export class ClientClosed extends Error {
  override readonly name = "ClientClosed";
}
export class TotalTimeout extends Error {
  override readonly name = "TotalTimeout";
}

function codeOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
  }
  return undefined;
}

export function classifyUpstreamFailure(err: unknown, signal: AbortState): GatewayError {
  if (err instanceof GatewayError) return err;
  if (signal.aborted) {
    if (signal.reason instanceof TotalTimeout) return new GatewayError("UpstreamTimeout", "The engine did not finish in time.", { cause: err });
    return new GatewayError("ClientClosedRequest", "The client closed the request.", { cause: err });
  }
  if (err instanceof SyntaxError) return new GatewayError("UpstreamInvalidResponse", "The engine answered with a body that is not valid JSON.", { cause: err });
  const code = codeOf(err);
  if (code && TIMEOUT_CODES.has(code)) {
    const what = code === "UND_ERR_CONNECT_TIMEOUT" ? "accept the connection" : code === "UND_ERR_HEADERS_TIMEOUT" ? "start answering" : "send data";
    return new GatewayError("UpstreamTimeout", `The engine did not ${what} in time.`, { cause: err });
  }
  return new GatewayError("UpstreamUnavailable", `The engine is unreachable${code ? ` (${code})` : ""}.`, { cause: err });
}
