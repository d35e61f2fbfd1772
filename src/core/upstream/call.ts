// One upstream call: transport failures and non-2xx answers both become GatewayErrors.
import { GatewayError } from "../errors.ts";
import { isMissingRoute, toGatewayError } from "./engine-error.ts";
import { classifyUpstreamFailure } from "./failures.ts";
import type { AbortState } from "./request-signal.ts";

export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** An engine route a gateway route calls, built once at start-up (Upstream.route). */
export interface EngineRoute {
  /** `POST http://engine:8000/v1/responses`, for messages. */
  readonly label: string;
  /** Not every engine serves it (Responses, legacy completions): a missing one is the deployment's
   * limit, 404 OperationNotSupported. A missing required one (chat, embeddings) means the upstream is
   * not the engine it should be: 502. */
  readonly optional: boolean;
}

export async function callUpstream<T>(
  signal: AbortState,
  send: () => Promise<FetchResult<T>>,
  route?: EngineRoute,
): Promise<{ data: NonNullable<T>; response: Response }> {
  let result: FetchResult<T>;
  try {
    result = await send();
  } catch (err) {
    throw classifyUpstreamFailure(err, signal);
  }
  const { data, error, response } = result;
  if (!response.ok || data === undefined || data === null) {
    if (route && isMissingRoute(response.status, error)) {
      throw route.optional
        ? new GatewayError(
            "OperationNotSupported",
            `This deployment does not support the operation: the engine does not serve ${route.label} (it answered HTTP ${response.status}).`,
          )
        : new GatewayError(
            "UpstreamRouteNotFound",
            `The upstream does not serve ${route.label} (it answered HTTP ${response.status}): check that --upstream-host points at an OpenAI-compatible engine.`,
          );
    }
    throw toGatewayError(response.status, error ?? "", response.headers.get("retry-after"));
  }
  if (isErrorBody(data)) throw toGatewayError(502, data, null);
  return { data, response };
}

/** A 200 whose body is an error and nothing else (`{"error":{…}}`): some engines and proxies answer so.
 * An answer that carries an `error` field of its own (a failed Response object has `object` and `id`) is not. */
function isErrorBody(data: unknown): boolean {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return false;
  const body = data as Record<string, unknown>;
  return body.error !== undefined && body.error !== null && body.object === undefined && body.id === undefined;
}
