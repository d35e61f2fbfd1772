// POST bodies must be JSON: anything else is a 415 before koa-body (which would quietly give `{}`). A POST
// without a body passes (POST /responses/{id}/cancel has none); an operation that needs one says so.
import type { Context, Next } from "koa";
import { GatewayError } from "../errors.ts";

// Not async, as request-id.ts; a throw here reaches errorMiddleware as a rejection through koa-compose.
// `acceptsAnyBody`: the paths whose bodies go to the engine as they are (audio's multipart).
export function requireJson(acceptsAnyBody: (path: string) => boolean) {
  return function requireJsonBody(ctx: Context, next: Next): Promise<void> {
    if (ctx.method === "POST" && !ctx.is("application/json") && !acceptsAnyBody(ctx.path)) {
      const bodiless =
        !ctx.get("content-type") && !ctx.get("transfer-encoding") && (ctx.get("content-length") || "0") === "0";
      if (bodiless) return next();
      throw new GatewayError(
        "UnsupportedMediaType",
        `The request body must be sent as 'application/json', not '${ctx.get("content-type").slice(0, 100) || "none"}'.`,
      );
    }
    return next();
  };
}
