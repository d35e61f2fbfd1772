// Inbound OpenAI bodies against the pinned OpenAI spec (standalone Ajv validators emitted by
// `npm run generate`), before any upstream call. Fields the spec does not declare are kept and
// forwarded (scripts/fix-openai-spec.ts drops `additionalProperties: false`).
import * as validators from "../../../generated/openai/validators.gen.js";
import { GatewayError } from "../../core/errors.ts";
import { assertValid } from "../../core/validate/bodies.ts";

export type OpenAIBodySchema = keyof typeof validators;

/** Throws InvalidRequestBody naming the field, or narrows the body to the schema's type. */
export function checkOpenAIBody<T extends object>(body: unknown, schema: OpenAIBodySchema): T & Record<string, unknown> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new GatewayError("InvalidRequestBody", "The request body must be a JSON object.");
  }
  assertValid<T & Record<string, unknown>>(validators[schema], body);
  return body;
}
