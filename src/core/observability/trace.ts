// One SERVER span per request, named and attributed after the OpenTelemetry GenAI semantic conventions
// ("chat {model}", gen_ai.*), continuing the caller's W3C traceparent and ended when the response
// closes, so a stream's span covers it to the last event. Mounted only when tracing is on.
import { SpanKind, SpanStatusCode, context, propagation, trace, type Span } from "@opentelemetry/api";
import type { Context, Next } from "koa";
import { exchangeOf } from "../pipeline/exchange.ts";
import { clientAborted } from "./observe.ts";

const tracer = trace.getTracer("azure-openai-proxy");

/** gen_ai.operation.name of a route, by what it ends in (the same in every dialect). */
function operationOf(route: string): string | undefined {
  if (route.endsWith("/chat/completions")) return "chat";
  if (route.endsWith("/completions")) return "text_completion";
  if (route.endsWith("/embeddings")) return "embeddings";
  if (route.endsWith("/responses")) return "generate_content";
  return undefined;
}

/** `providerOf` gives gen_ai.provider.name, the API the client spoke, by path (dialects/table.ts). */
export function traceRequests(routeOf: (ctx: Context) => string, providerOf: (path: string) => string) {
  return async function traceRequest(ctx: Context, next: Next): Promise<void> {
    const parent = propagation.extract(context.active(), ctx.headers);
    const span = tracer.startSpan(
      `${ctx.method} ${ctx.path}`,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": ctx.method } },
      parent,
    );
    exchangeOf(ctx).span = span;
    ctx.res.once("close", () => endSpan(span, ctx, routeOf(ctx), providerOf(ctx.path)));
    await context.with(trace.setSpan(parent, span), next);
  };
}

function endSpan(span: Span, ctx: Context, route: string, provider: string): void {
  const state = exchangeOf(ctx);
  const operation = operationOf(route);
  const outcome = state.streamOutcome;
  span.setAttribute("http.route", route);
  span.setAttribute("http.response.status_code", ctx.status);
  if (state.consumer) span.setAttribute("azure_openai_proxy.consumer", state.consumer);
  if (operation) {
    span.updateName(state.model ? `${operation} ${state.model}` : operation);
    span.setAttribute("gen_ai.operation.name", operation);
    span.setAttribute("gen_ai.provider.name", provider);
    if (state.model) span.setAttribute("gen_ai.request.model", state.model);
    if (state.apiVersion) span.setAttribute("azure.api_version", state.apiVersion);
    if (state.deployment) span.setAttribute("azure_openai_proxy.deployment", state.deployment);
    const body = ctx.request.body as Record<string, unknown> | undefined;
    for (const [field, attribute] of [
      ["max_tokens", "gen_ai.request.max_tokens"],
      ["temperature", "gen_ai.request.temperature"],
      ["top_p", "gen_ai.request.top_p"],
      ["seed", "gen_ai.request.seed"],
    ] as const) {
      if (typeof body?.[field] === "number") span.setAttribute(attribute, body[field]);
    }
    const usage = outcome?.usage ?? state.usage;
    if (usage?.prompt_tokens !== undefined) span.setAttribute("gen_ai.usage.input_tokens", usage.prompt_tokens);
    if (usage?.completion_tokens !== undefined)
      span.setAttribute("gen_ai.usage.output_tokens", usage.completion_tokens);
    const choices = outcome
      ? undefined
      : (ctx.body as { choices?: Array<{ finish_reason?: string | null }> } | undefined)?.choices;
    const reasons = outcome?.finishReasons ?? choices?.map((c) => c.finish_reason ?? "").filter(Boolean);
    if (reasons?.length) span.setAttribute("gen_ai.response.finish_reasons", reasons);
    if (outcome?.firstTokenMs !== undefined)
      span.setAttribute("gen_ai.response.time_to_first_chunk", outcome.firstTokenMs / 1000);
  }
  const errorCode = outcome?.error?.code ?? state.error?.code;
  if (errorCode) span.setAttribute("error.type", errorCode);
  if (ctx.status >= 500 || outcome?.error) span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  if (clientAborted(ctx)) span.setAttribute("azure_openai_proxy.client_aborted", true);
  span.end();
}

/** Writes the current span's W3C context into upstream headers (a no-op while tracing is off). */
export function injectTraceContext(span: Span | undefined, headers: Record<string, string>): void {
  if (span) propagation.inject(trace.setSpan(context.active(), span), headers);
}
