// Network-level upstream failures -> gateway errors, classified by code (never by message text).
import { GatewayError } from "../errors.ts";
import type { AbortState } from "./request-signal.ts";

const TIMEOUT_CODES = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

/** Reasons a request's own AbortSignal carries, so an abort can be told apart from a fault. */
export class ClientClosed extends Error {
  override readonly name = "ClientClosed";
}
export class TotalTimeout extends Error {
  override readonly name = "TotalTimeout";
}

/** The innermost error message of a transport failure (undici's own words: no request content). */
function messageOf(err: unknown): string | undefined {
  let message: string | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (typeof (e as { message?: unknown }).message === "string" && (e as Error).message)
      message = (e as Error).message;
  }
  return message?.slice(0, 200);
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
  const code = codeOf(err);
  const message = messageOf(err);
  const detail = [code, message].filter(Boolean).join(": ") || undefined;
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof ClientClosed)
      return new GatewayError("ClientClosedRequest", "The client closed the request.", { cause: err });
    if (reason instanceof TotalTimeout)
      return new GatewayError("UpstreamTimeout", "The engine did not finish in time (--total-timeout).", {
        cause: err,
        detail: String(reason.message),
      });
    // A timeout signal of the gateway's own (the model lookup's): the engine was too slow, not the client.
    if ((reason as { name?: unknown } | null)?.name === "TimeoutError")
      return new GatewayError("UpstreamTimeout", "The engine did not start answering in time.", {
        cause: err,
        detail: "model list lookup timed out",
      });
    return new GatewayError("UpstreamUnavailable", "The upstream call was aborted.", {
      cause: err,
      ...(detail ? { detail } : {}),
    });
  }
  if (err instanceof SyntaxError)
    return new GatewayError("UpstreamInvalidResponse", "The engine answered with a body that is not valid JSON.", {
      cause: err,
      detail: err.message,
    });
  if ((err as { name?: unknown } | null)?.name === "HTTPParserError") {
    return new GatewayError(
      "UpstreamInvalidResponse",
      `The upstream does not answer in HTTP/1.1 (${message ?? "parse error"}): check that --upstream-host points at an OpenAI-compatible engine.`,
      { cause: err, ...(detail ? { detail } : {}) },
    );
  }
  if (code && TIMEOUT_CODES.has(code)) {
    const what =
      code === "UND_ERR_CONNECT_TIMEOUT"
        ? "accept the connection (--connect-timeout)"
        : code === "UND_ERR_HEADERS_TIMEOUT"
          ? "start answering (--first-byte-timeout)"
          : "send data (--idle-timeout)";
    return new GatewayError("UpstreamTimeout", `The engine did not ${what} in time.`, { cause: err, detail: detail! });
  }
  const why =
    code === "UND_ERR_SOCKET"
      ? `the engine closed the connection (${code})`
      : code
        ? code
        : message
          ? "no HTTP answer"
          : "unknown cause";
  return new GatewayError("UpstreamUnavailable", `The engine is unreachable: ${why}.`, {
    cause: err,
    ...(detail ? { detail } : {}),
  });
}

const CONNECT_CODES = new Set([
  "ECONNREFUSED",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** The connection itself failed: nothing of the request reached the engine, so it may be sent elsewhere. */
export function isConnectFailure(err: unknown): boolean {
  const code = codeOf(err);
  return code !== undefined && CONNECT_CODES.has(code);
}

/** A failure of the transport (nothing usable came back), as opposed to an HTTP answer from the engine. */
export function isTransportFailure(err: unknown): boolean {
  return (
    err instanceof GatewayError &&
    (err.code === "UpstreamTimeout" ||
      err.code === "UpstreamUnavailable" ||
      (err.code === "UpstreamInvalidResponse" && err.cause !== undefined))
  );
}
