// Inbound OpenAI bodies against the pinned OpenAI spec (standalone Ajv validators emitted by
// `npm run generate`), before any upstream call. Fields the spec does not declare are kept and
// forwarded (scripts/fix-openai-spec.ts drops `additionalProperties: false`). Each validator module is
// loaded on the first request that needs it (CreateResponse's is ~0.8 MB of code).
import type { ValidateFunction } from "ajv";
import { GatewayError } from "../../core/errors.ts";
import { assertValid } from "../../core/validate/bodies.ts";

const LOADERS = {
  CreateChatCompletionRequest: () =>
    import("../../../generated/openai/validators/CreateChatCompletionRequest.gen.js").then(
      (m) => m.CreateChatCompletionRequest,
    ),
  CreateCompletionRequest: () =>
    import("../../../generated/openai/validators/CreateCompletionRequest.gen.js").then(
      (m) => m.CreateCompletionRequest,
    ),
  CreateEmbeddingRequest: () =>
    import("../../../generated/openai/validators/CreateEmbeddingRequest.gen.js").then((m) => m.CreateEmbeddingRequest),
  CreateResponse: () =>
    import("../../../generated/openai/validators/CreateResponse.gen.js").then((m) => m.CreateResponse),
  CreateConversationBody: () =>
    import("../../../generated/openai/validators/CreateConversationBody.gen.js").then((m) => m.CreateConversationBody),
  UpdateConversationBody: () =>
    import("../../../generated/openai/validators/UpdateConversationBody.gen.js").then((m) => m.UpdateConversationBody),
  CompactResponseMethodPublicBody: () =>
    import("../../../generated/openai/validators/CompactResponseMethodPublicBody.gen.js").then(
      (m) => m.CompactResponseMethodPublicBody,
    ),
} satisfies Record<string, () => Promise<ValidateFunction>>;

export type OpenAIBodySchema = keyof typeof LOADERS;

const loaded = new Map<OpenAIBodySchema, ValidateFunction | Promise<ValidateFunction>>();

/** The validator of a body schema: synchronous once loaded (every request after the first). */
function validatorOf(schema: OpenAIBodySchema): ValidateFunction | Promise<ValidateFunction> {
  let validate = loaded.get(schema);
  if (!validate) {
    const loading = LOADERS[schema]();
    loaded.set(schema, loading);
    void loading.then(
      (fn) => loaded.set(schema, fn),
      () => loaded.delete(schema),
    );
    validate = loading;
  }
  return validate;
}

/** Throws InvalidRequestBody naming the field, or narrows the body to the schema's type (no schema: any
 * JSON object, for the operations whose bodies the engine checks). */
export async function checkOpenAIBody<T extends object>(
  body: unknown,
  schema: OpenAIBodySchema | undefined,
): Promise<T & Record<string, unknown>> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new GatewayError("InvalidRequestBody", "The request body must be a JSON object.");
  }
  if (schema === undefined) return body as T & Record<string, unknown>;
  const validate = validatorOf(schema);
  assertValid<T & Record<string, unknown>>(typeof validate === "function" ? validate : await validate, body);
  return body;
}
