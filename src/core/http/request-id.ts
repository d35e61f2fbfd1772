// Request ids: `x-ms-client-request-id` is echoed as Azure does; `x-request-id` (the client's, or a new
// UUID) names the request in logs and upstream, and is also sent as `apim-request-id` (what Azure
// OpenAI's specs declare; the `openai` SDKs read x-request-id). Set before anything else can fail.
import { randomUUID } from "node:crypto";
import type { Context, Next } from "koa";
import { openExchange } from "../pipeline/exchange.ts";

const SAFE_ID = /^[\w.:@/+=-]{1,128}$/;

/** Opens the request's exchange; `dialectOf` names the dialect a path belongs to. */
export function requestId(dialectOf: (path: string) => string) {
  // Not async: a pass-through step returns next()'s promise instead of wrapping it in one of its own.
  return function identifyRequest(ctx: Context, next: Next): Promise<void> {
    const clientHeader = ctx.get("x-ms-client-request-id");
    const clientId = clientHeader && SAFE_ID.test(clientHeader) ? clientHeader : undefined;
    if (clientId) ctx.set("x-ms-client-request-id", clientId);
    const inbound = ctx.get("x-request-id");
    const id = inbound && SAFE_ID.test(inbound) ? inbound : randomUUID();
    openExchange(ctx, id, clientId, dialectOf(ctx.path));
    ctx.set("x-request-id", id);
    ctx.set("apim-request-id", id);
    return next();
  };
}
