// The engine's served models (GET /v1/models), cached and coalesced so /info, readiness, model
// listings and model resolution never storm the engine.
import type { components } from "../../../generated/openai/schema.d.ts";
import { toGatewayError } from "./engine-error.ts";
import type { Upstream } from "./client.ts";
import { classifyUpstreamFailure } from "./failures.ts";

type OpenAIModelList = components["schemas"]["ListModelsResponse"];
export type OpenAIModel = components["schemas"]["Model"];

/** The models the engine lists, in its order, as it describes them; an odd body yields none rather
 * than a crash, and an entry without a string id is left out. */
export function servedModels(list: OpenAIModelList | undefined): OpenAIModel[] {
  if (!list || !Array.isArray(list.data)) return [];
  return list.data.filter((m) => m !== null && typeof m === "object" && typeof m.id === "string" && m.id !== "");
}

export interface ModelCatalog {
  /** Served model ids; throws a GatewayError when the engine cannot be asked. */
  ids(): Promise<string[]>;
  /** The served models as the engine lists them (OpenAI `Model`; synthesised from TEI's /info). */
  models(): Promise<OpenAIModel[]>;
  /** The served ids while the cached list is fresh (no promise), else undefined. */
  cachedIds(): readonly string[] | undefined;
  /** Asks the engine now, whatever the cache holds (readiness checks; coalesced with a fetch in flight). */
  refresh(): Promise<OpenAIModel[]>;
}

/** The served model a name stands for: itself when served, else the only served model (deployment
 * names are aliases of it); no name picks the first served model. Undefined when nothing matches. */
export function matchServed(served: readonly string[], requested: string | undefined): string | undefined {
  if (requested === undefined) return served[0];
  if (served.includes(requested)) return requested;
  return served.length === 1 ? served[0] : undefined;
}

async function teiModels(upstream: Upstream, signal: AbortSignal): Promise<OpenAIModel[] | undefined> {
  const { status, body } = await upstream.getRootJson("/info", signal);
  const id = (body as { model_id?: unknown } | null)?.model_id;
  return status === 200 && typeof id === "string" && id
    ? [{ id, object: "model", created: 0, owned_by: "text-embeddings-inference" }]
    : undefined;
}

export function createModelCatalog(upstream: Upstream, ttlMs: number, timeoutMs: number): ModelCatalog {
  let cached: { ids: string[]; models: OpenAIModel[]; at: number } | undefined;
  let inflight: Promise<OpenAIModel[]> | undefined;

  const fetchModels = async (): Promise<OpenAIModel[]> => {
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      const { data, error, response } = await upstream.client.GET("/models", {
        headers: upstream.engineHeaders(),
        signal,
      });
      // TEI serves no /v1/models; its /info names the model (`model_id`).
      const tei = response.status === 404 ? await teiModels(upstream, signal) : undefined;
      if (tei === undefined && (error !== undefined || !response.ok))
        throw toGatewayError(response.status, error, response.headers.get("retry-after"));
      const models = tei ?? servedModels(data);
      cached = { ids: models.map((m) => m.id), models, at: Date.now() };
      return models;
    } catch (err) {
      throw classifyUpstreamFailure(err, signal);
    }
  };

  const fresh = () => (cached && Date.now() - cached.at < ttlMs ? cached : undefined);
  const refresh = (): Promise<OpenAIModel[]> => (inflight ??= fetchModels().finally(() => (inflight = undefined)));
  const models = (): Promise<OpenAIModel[]> => {
    const known = fresh();
    return known ? Promise.resolve(known.models) : refresh();
  };
  const ids = (): Promise<string[]> => {
    const known = fresh();
    return known ? Promise.resolve(known.ids) : models().then(() => cached!.ids);
  };

  return {
    ids,
    models,
    refresh,
    cachedIds: () => fresh()?.ids,
  };
}
