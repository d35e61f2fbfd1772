// O#/components/schemas/ErrorResponse: {"error":{"message","type","param","code"}}, the engine's own
// API's envelope. `code` is the gateway code in OpenAI's snake_case (`model_not_found`), `type` the
// OpenAI class of the status.
import type { GatewayError } from "../../core/errors.ts";
import type { components } from "../../../generated/openai/schema.d.ts";

export type OpenAIErrorBody = components["schemas"]["ErrorResponse"];

/** `ModelNotFound` -> `model_not_found`. */
export const snakeCase = (code: string): string =>
  code
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();

function errorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function toOpenAIErrorBody(err: GatewayError): OpenAIErrorBody {
  return {
    error: { message: err.message, type: errorType(err.status), param: err.target ?? null, code: snakeCase(err.code) },
  };
}
