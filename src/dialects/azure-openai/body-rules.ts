// Azure-only request fields (azure-openai-surface.md §4.2) in front of an open engine: On Your Data
// (`data_sources`) needs Azure's search services, so it is refused rather than silently ignored;
// `user_security_context` is telemetry for Microsoft Defender and means nothing to an engine.
// Azure's own bounds that the engines lack (scripts/correct-openai-spec.ts drops them from the shared
// validators, for /v1) are kept here, as Azure answers them.
import { GatewayError } from "../../core/errors.ts";

export function applyAzureBodyRules(body: Record<string, unknown>): void {
  if (body.data_sources !== undefined) {
    throw new GatewayError(
      "UnsupportedParameter",
      "'data_sources' (Azure OpenAI On Your Data) is not served by this gateway: it fronts an engine without Azure's data sources. Remove it, or retrieve the documents yourself and send them in the messages.",
      { target: "data_sources" },
    );
  }
  delete body.user_security_context;
  const maxOutput = body.max_output_tokens;
  if (typeof maxOutput === "number" && maxOutput < AZURE_MIN_OUTPUT_TOKENS) {
    throw new GatewayError(
      "InvalidRequestBody",
      `Invalid 'max_output_tokens': integer below minimum value. Expected a value >= ${AZURE_MIN_OUTPUT_TOKENS}, but got ${maxOutput} instead.`,
      { target: "max_output_tokens" },
    );
  }
}

/** The Responses API's floor on Azure OpenAI (and OpenAI). */
const AZURE_MIN_OUTPUT_TOKENS = 16;
