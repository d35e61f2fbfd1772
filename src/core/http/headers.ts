// What crosses to the engine. Upstream headers are built from an allow-list, never copied: inbound
// credentials (Authorization, api-key), cookies, hop-by-hop and Azure routing headers stay here.
import type { Context } from "koa";
import { exchangeOf } from "../pipeline/exchange.ts";
import { injectTraceContext } from "../observability/trace.ts";

const FORWARDED = ["traceparent", "tracestate"] as const;

export function upstreamHeaders(ctx: Context, base: Readonly<Record<string, string>>): Record<string, string> {
  const exchange = exchangeOf(ctx);
  const headers: Record<string, string> = { ...base, "x-request-id": exchange.requestId };
  for (const name of FORWARDED) {
    const value = ctx.get(name);
    if (value) headers[name] = value;
  }
  injectTraceContext(exchange.span, headers); // with tracing on, the engine's parent is our span
  return headers;
}
