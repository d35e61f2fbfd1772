// The engine's served models (GET /v1/models), cached and coalesced so /info, readiness and model
// resolution never storm the engine.
import { modelIds } from "../mappers/model-info.ts";
import { toGatewayError } from "../mappers/upstream-error.ts";
import type { Upstream } from "./client.ts";
import { classifyUpstreamFailure } from "./failures.ts";

export interface ModelCatalog {
  /** Served model ids; throws a GatewayError when the engine cannot be asked. */
  ids(): Promise<string[]>;
  /** The upstream model for a request: the requested name when served, the only served model when
   * there is one (deployment names are aliases of it), else the request's name or the first served. */
  resolve(requested: string | undefined): string | Promise<string>;
}

/** The served model a name stands for: itself when served, else the only served model (deployment
 * names are aliases of it); no name picks the first served model. Undefined when nothing matches. */
export function matchServed(served: readonly string[], requested: string | undefined): string | undefined {
  if (requested === undefined) return served[0];
  if (served.includes(requested)) return requested;
  return served.length === 1 ? served[0] : undefined;
}

async function teiModelIds(upstream: Upstream, signal: AbortSignal): Promise<string[] | undefined> {
  const { status, body } = await upstream.getRootJson("/info", signal);
  const id = (body as { model_id?: unknown } | null)?.model_id;
  return status === 200 && typeof id === "string" && id ? [id] : undefined;
}

export function createModelCatalog(upstream: Upstream, ttlMs: number, timeoutMs: number): ModelCatalog {
  let cached: { ids: string[]; at: number } | undefined;
  let inflight: Promise<string[]> | undefined;

  const fetchIds = async (): Promise<string[]> => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const { data, error, response } = await upstream.client.GET("/models", { headers: upstream.baseHeaders, signal });
      // TEI serves no /v1/models; its /info names the model (`model_id`).
      const ids = response.status === 404 ? await teiModelIds(upstream, signal) : undefined;
      if (ids === undefined && (error !== undefined || !response.ok)) throw toGatewayError(response.status, error, response.headers.get("retry-after"));
      cached = { ids: ids ?? modelIds(data), at: Date.now() };
      return cached.ids;
    } catch (err) {
      throw classifyUpstreamFailure(err, signal);
    }
  };

  const fresh = (): string[] | undefined => (cached && Date.now() - cached.at < ttlMs ? cached.ids : undefined);
  const ids = (): Promise<string[]> => {
    const known = fresh();
    if (known) return Promise.resolve(known);
    inflight ??= fetchIds().finally(() => (inflight = undefined));
    return inflight;
  };
  const pick = (served: readonly string[], requested: string | undefined): string => {
    const name = requested || undefined; // an empty name is no name
    return matchServed(served, name) ?? name ?? "default";
  };

  return {
    ids,
    // Synchronous while the list is cached (nearly every request): no promise per request.
    resolve(requested) {
      const known = fresh();
      if (known) return pick(known, requested);
      // Engines without /v1/models (TEI), or a failing one, still get the request; it reports its own error.
      return ids().then((served) => pick(served, requested), () => pick([], requested));
    },
  };
}
