// A#/definitions/Azure.Core.Foundations.ErrorResponse: {"error":{"code","message","target?"}}.
import type { GatewayError } from "../../core/errors.ts";

export interface AzureInferenceErrorBody {
  error: { code: string; message: string; target?: string };
}

export function toAzureInferenceErrorBody(err: GatewayError): AzureInferenceErrorBody {
  return {
    error: { code: err.code, message: err.message, ...(err.target !== undefined ? { target: err.target } : {}) },
  };
}
