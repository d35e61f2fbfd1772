// What crosses to the engine. Upstream headers are built from an allow-list, never copied: inbound
// credentials (Authorization, api-key), cookies, hop-by-hop and Azure routing headers stay here.
import type { Context } from "koa";
import { injectTraceContext } from "../observability/trace.ts";

const FORWARDED = ["traceparent", "tracestate"] as const;

export function upstreamHeaders(ctx: Context, base: Readonly<Record<string, string>>): Record<string, string> {
  const headers: Record<string, string> = { ...base, "x-request-id": ctx.state.requestId as string };
  for (const name of FORWARDED) {
    const value = ctx.get(name);
    if (value) headers[name] = value;
  }
  injectTraceContext(ctx.state.span, headers); // with tracing on, the engine's parent is our span
  return headers;
}
