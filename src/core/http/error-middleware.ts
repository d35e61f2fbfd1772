// Outermost middleware and the only writer of error responses: every failure, ours, koa-body's or the
// router's, leaves in the envelope of the dialect the path belongs to, with x-ms-error-code. Unknown
// errors become a generic 500 and are logged, never shown (as Koa's own onerror hides non-`expose` errors).
import type { Context, Next } from "koa";
import { exchangeOf } from "../pipeline/exchange.ts";
import { type ErrorBody, GatewayError, fromHttpError } from "../errors.ts";

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

function toGatewayErrorFromUnknown(
  err: unknown,
  bodyLimitBytes: number,
  contentEncoding: string,
): { error: GatewayError; unexpected: boolean } {
  if (err instanceof GatewayError) return { error: err, unexpected: false };
  // The body parser decodes gzip, deflate and br; zlib's errors mean the body is not what its header says.
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("Z_")) {
    return {
      error: new GatewayError(
        "InvalidRequestBody",
        `The request body is not valid ${contentEncoding.slice(0, 20)} data, as its Content-Encoding says.`,
      ),
      unexpected: false,
    };
  }
  if ((err as { status?: unknown })?.status === 415 && /Content-Encoding/.test((err as Error).message ?? "")) {
    return {
      error: new GatewayError(
        "UnsupportedMediaType",
        `Content-Encoding '${contentEncoding.slice(0, 40)}' is not supported: send the body plain, or as gzip, deflate or br.`,
      ),
      unexpected: false,
    };
  }
  const status =
    (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { error: fromHttpError(status, (err as Error).message ?? "", bodyLimitBytes), unexpected: false };
  }
  return {
    error: new GatewayError("InternalServerError", "The gateway failed to process the request."),
    unexpected: true,
  };
}

/** The error body of the dialect a request path belongs to. */
export type ErrorBodyOf = (path: string) => ErrorBody;

/** Seconds a client is told to wait when nothing more precise is known: a full gateway frees a slot
 * quickly; an engine that is loading or unavailable takes longer. */
const DEFAULT_RETRY_AFTER_S: Record<number, number> = { 429: 1, 503: 5 };
const MAX_RETRY_AFTER_S = 60;

/** Every 429 and 503 says when to come back, as Azure does: `retry-after` (seconds) and `retry-after-ms`,
 * both within a minute (an engine's longer or date-valued Retry-After is brought within it). */
function retryHeaders(status: number, given: string | undefined): Record<string, string> | undefined {
  const fallback = DEFAULT_RETRY_AFTER_S[status];
  if (fallback === undefined) return undefined;
  let seconds =
    given === undefined
      ? Number.NaN
      : /^\d+(\.\d+)?$/.test(given.trim())
        ? Number(given)
        : (Date.parse(given) - Date.now()) / 1000;
  if (!Number.isFinite(seconds) || seconds < 0) seconds = fallback;
  seconds = Math.min(seconds, MAX_RETRY_AFTER_S);
  return { "retry-after": String(Math.ceil(seconds)), "retry-after-ms": String(Math.round(seconds * 1000)) };
}

export function writeError(ctx: Context, error: GatewayError, errorBody: ErrorBody): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  const retry = retryHeaders(error.status, error.headers["retry-after"]);
  if (retry) ctx.set(retry);
  ctx.set("x-ms-error-code", error.code);
  ctx.body = errorBody(error);
  // For the request's log line: the code, the field at fault and what the client is not shown.
  exchangeOf(ctx).error = { code: error.code, target: error.target, detail: error.detail };
}

export function errorMiddleware(log: ErrorLogger, errorBodyOf: ErrorBodyOf, bodyLimitBytes: number) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const { error, unexpected } = toGatewayErrorFromUnknown(err, bodyLimitBytes, ctx.get("content-encoding"));
      if (unexpected) log.error({ err, requestId: exchangeOf(ctx).requestId }, "unexpected error");
      if (ctx.headerSent || !ctx.writable) return;
      writeError(ctx, error, errorBodyOf(ctx.path));
    }
  };
}
