// One upstream call: transport failures and non-2xx answers both become GatewayErrors.
import type { GatewayError } from "../http/errors.ts";
import { toGatewayError } from "../mappers/upstream-error.ts";
import { classifyUpstreamFailure } from "./failures.ts";
import type { AbortState } from "./request-signal.ts";

export interface FetchResult<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export async function callUpstream<T>(signal: AbortState, send: () => Promise<FetchResult<T>>): Promise<{ data: NonNullable<T>; response: Response }> {
  let result: FetchResult<T>;
  try {
    result = await send();
  } catch (err) {
    throw classifyUpstreamFailure(err, signal);
  }
  const { data, error, response } = result;
  if (!response.ok || data === undefined || data === null) {
    throw toGatewayError(response.status, error ?? "", response.headers.get("retry-after")) as GatewayError;
  }
  return { data, response };
}
