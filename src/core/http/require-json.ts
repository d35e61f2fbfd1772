// POST bodies must be JSON: anything else is a 415 before koa-body (which would quietly give `{}`).
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";

// Not async, as request-id.ts; a throw here reaches errorMiddleware as a rejection through koa-compose.
export function requireJson(ctx: Context, next: Next): Promise<void> {
  if (ctx.method === "POST" && !ctx.is("application/json")) {
    if (!ctx.get("content-type") && ctx.get("content-length") === "0") {
      throw new GatewayError("InvalidRequestBody", "The request body must be a JSON object.");
    }
    throw new GatewayError("UnsupportedMediaType", `The request body must be sent as 'application/json', not '${ctx.get("content-type").slice(0, 100) || "none"}'.`);
  }
  return next();
}
