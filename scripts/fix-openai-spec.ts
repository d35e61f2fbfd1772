// The OpenAI spec declares `discriminator: {propertyName}` without a `mapping`. By the OpenAPI rules the
// implicit mapping is then the schema *name*, so generators type `role` of a system message as
// "ChatCompletionRequestSystemMessage". This step writes the explicit mapping each member's own
// single-value enum already states ({role: enum [system]} -> mapping system). Nothing else changes.
import type { JsonObject } from "./prune-spec.ts";

type Json = JsonObject[string];

export function addDiscriminatorMappings(doc: JsonObject): JsonObject {
  const schemas = (doc.components as JsonObject).schemas as Record<string, JsonObject>;
  const valueOf = (ref: string, property: string): string | undefined => {
    const member = schemas[ref.replace("#/components/schemas/", "")];
    const prop = (member?.properties as Record<string, JsonObject> | undefined)?.[property];
    const values = (prop?.enum ?? (prop?.const !== undefined ? [prop.const] : undefined)) as Json[] | undefined;
    return values?.length === 1 && typeof values[0] === "string" ? values[0] : undefined;
  };
  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) out[key] = visit(value);
    const discriminator = out.discriminator as JsonObject | undefined;
    const members = (out.oneOf ?? out.anyOf) as JsonObject[] | undefined;
    if (!discriminator || discriminator.mapping || !members) return out;
    const mapping: JsonObject = {};
    for (const member of members) {
      const ref = member.$ref as string | undefined;
      const value = ref && valueOf(ref, discriminator.propertyName as string);
      if (!ref || !value) return out; // not every member states its value: leave the schema as the spec has it
      mapping[value] = ref;
    }
    return { ...out, discriminator: { ...discriminator, mapping } };
  };
  return visit(doc) as JsonObject;
}

/** The OpenAI components as JSON Schema for Ajv, with the gateway's two rules applied:
 * - OpenAPI 3.0's `nullable: true` (still on ~100 schemas of this 3.1 document) becomes `anyOf [.., null]`;
 * - `additionalProperties: false` is dropped: fields the spec does not declare pass to the engine
 *   (`extra_body`, vLLM's `top_k`, `min_p`, `guided_json`…), at every depth, in requests and answers. */
export function toOpenAIJsonSchemas(schemas: JsonObject): JsonObject {
  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "additionalProperties" && value === false) continue;
      if (key === "nullable") continue;
      out[key] = visit(value);
    }
    return node.nullable === true ? { anyOf: [out, { type: "null" }] } : out;
  };
  return visit(schemas) as JsonObject;
}
