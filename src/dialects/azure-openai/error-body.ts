// The Azure OpenAI envelope, as the v1 spec's AzureErrorResponse states it (azure-openai-surface.md
// §4.1, §10): {"error":{"code","message","param?","type":"error"}}. `type` is the spec's only value;
// `param` names the field when the error is about one and is left out otherwise (the spec does not
// allow null). One rule for the v1 and the deployment routes: the SDKs read both alike.
import type { GatewayError } from "../../core/errors.ts";

export interface AzureOpenAIErrorBody {
  error: { code: string; message: string; param?: string; type: "error" };
}

/** Codes Azure OpenAI reports as OpenAI spells them (its Responses API answers with OpenAI's codes). */
const OPENAI_SPELLED: Partial<Record<string, string>> = {
  PreviousResponseNotFound: "previous_response_not_found",
  WebsocketConnectionLimitReached: "websocket_connection_limit_reached",
  ResponseInProgress: "response_in_progress",
  InvalidEncryptedContent: "invalid_encrypted_content",
};

export function toAzureOpenAIErrorBody(err: GatewayError): AzureOpenAIErrorBody {
  return {
    error: {
      code: OPENAI_SPELLED[err.code] ?? err.code,
      message: err.message,
      ...(err.target !== undefined ? { param: err.target } : {}),
      type: "error",
    },
  };
}
