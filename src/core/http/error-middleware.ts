// Outermost middleware and the only writer of error responses: every failure, ours, koa-body's or the
// router's, leaves in the envelope of the dialect the path belongs to, with x-ms-error-code. Unknown
// errors become a generic 500 and are logged, never shown (as Koa's own onerror hides non-`expose` errors).
import type { Context, Next } from "koa";
import { type ErrorBody, GatewayError, fromHttpError } from "../errors.ts";

export interface ErrorLogger {
  error(obj: object, msg: string): void;
}

function toGatewayErrorFromUnknown(err: unknown, bodyLimitBytes: number): { error: GatewayError; unexpected: boolean } {
  if (err instanceof GatewayError) return { error: err, unexpected: false };
  const status = (err as { status?: unknown; statusCode?: unknown })?.status ?? (err as { statusCode?: unknown })?.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return { error: fromHttpError(status, (err as Error).message ?? "", bodyLimitBytes), unexpected: false };
  }
  return { error: new GatewayError("InternalServerError", "The gateway failed to process the request."), unexpected: true };
}

/** The error body of the dialect a request path belongs to. */
export type ErrorBodyOf = (path: string) => ErrorBody;

export function writeError(ctx: Context, error: GatewayError, errorBody: ErrorBody): void {
  ctx.status = error.status;
  for (const [name, value] of Object.entries(error.headers)) ctx.set(name, value);
  ctx.set("x-ms-error-code", error.code);
  ctx.body = errorBody(error);
  ctx.state.errorCode = error.code;
  // For the request's log line: the field at fault and what the client is not shown.
  if (error.target !== undefined) ctx.state.errorTarget = error.target;
  if (error.detail !== undefined) ctx.state.errorDetail = error.detail;
}

export function errorMiddleware(log: ErrorLogger, errorBodyOf: ErrorBodyOf, bodyLimitBytes: number) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const { error, unexpected } = toGatewayErrorFromUnknown(err, bodyLimitBytes);
      if (unexpected) log.error({ err, requestId: ctx.state.requestId }, "unexpected error");
      if (ctx.headerSent || !ctx.writable) return;
      writeError(ctx, error, errorBodyOf(ctx.path));
    }
  };
}
