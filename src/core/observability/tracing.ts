// OpenTelemetry tracing, on only when an OTLP endpoint is configured through the standard OTEL_*
// variables. Off, nothing is loaded and @opentelemetry/api's no-op tracer costs nothing.
import type { Env } from "../../config-values.ts";

export function tracingConfigured(env: Env): boolean {
  if (env.OTEL_SDK_DISABLED === "true" || env.OTEL_TRACES_EXPORTER === "none") return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/** Registers a tracer provider exporting over OTLP/HTTP (endpoint, headers, batching from OTEL_*);
 * returns its shutdown, which flushes pending spans. */
export async function startTracing(version: string, env: Env): Promise<() => Promise<void>> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace-node"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      "service.name": env.OTEL_SERVICE_NAME ?? "azure-openai-proxy",
      "service.version": version,
    }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  provider.register(); // W3C trace-context propagator and AsyncLocalStorage context manager
  return () => provider.shutdown();
}
