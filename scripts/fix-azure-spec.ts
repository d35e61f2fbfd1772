// The Azure AI Model Inference spec is Swagger 2.0 with quirks that code generators and JSON-Schema
// validators get wrong (../shared/docs/azure-surface.md §12). This is the one place they are fixed:
// the spec is converted to OpenAPI 3.1 (so every schema is plain JSON Schema 2020-12) and each quirk
// is repaired by a named step below. Nothing downstream edits generated output.
import { stripProse, type JsonObject } from "./prune-spec.ts";

type Json = JsonObject[string];

/** `#/definitions/X` -> `#/components/schemas/X`, everywhere. */
function moveRefs(node: Json): Json {
  if (Array.isArray(node)) return node.map(moveRefs);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === "$ref" && typeof value === "string"
        ? value.replace("#/definitions/", "#/components/schemas/")
        : moveRefs(value);
  }
  return out;
}

/** Swagger's `x-nullable` -> JSON Schema: `type: [t, "null"]`, or `anyOf [$ref, null]` where a $ref is
 * nullable (generators ignore `x-nullable` next to a `$ref`, e.g. ChatChoice.finish_reason). */
function nullables(node: Json): Json {
  if (Array.isArray(node)) return node.map(nullables);
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) if (key !== "x-nullable") out[key] = nullables(value);
  if (node["x-nullable"] !== true) return out;
  if (typeof out.$ref === "string") {
    const { $ref, ...rest } = out;
    return { ...rest, anyOf: [{ $ref }, { type: "null" }] };
  }
  return { ...out, type: [out.type as string, "null"] };
}

/** Swagger polymorphism (`discriminator: "role"` on the base, `allOf: [base]` and
 * `x-ms-discriminator-value` on each subtype) -> a base that is a `oneOf` of its subtypes, each subtype
 * carrying its own literal discriminator. Generators otherwise type every subtype's `role` as its schema
 * name and `messages` as the bare base. */
function discriminatedUnions(schemas: JsonObject): void {
  for (const [baseName, base] of Object.entries(schemas) as [string, JsonObject][]) {
    const property = base.discriminator;
    if (typeof property !== "string") continue;
    const mapping: JsonObject = {};
    for (const [name, schema] of Object.entries(schemas) as [string, JsonObject][]) {
      const parents = (schema.allOf ?? []) as JsonObject[];
      if (!parents.some((p) => p.$ref === `#/definitions/${baseName}`)) continue;
      const value = schema["x-ms-discriminator-value"] as string;
      const { allOf: _allOf, "x-ms-discriminator-value": _value, ...own } = schema;
      schemas[name] = {
        ...own,
        properties: { [property]: { type: "string", enum: [value] }, ...(own.properties as JsonObject) },
        required: [property, ...((own.required as string[]) ?? [])],
      };
      mapping[value] = `#/components/schemas/${name}`;
    }
    schemas[baseName] = {
      oneOf: Object.values(mapping).map((r) => ({ $ref: r })),
      discriminator: { propertyName: property, mapping },
    };
  }
}

/** Shapes the spec leaves out or gets wrong; each is what the SDKs and the examples send. */
function missingShapes(schemas: JsonObject): void {
  const s = schemas as Record<string, JsonObject & { properties: JsonObject; required?: string[] }>;
  // `developer` is in ChatRole but has no message subtype; JS and Python send {role, content: string}.
  s.ChatRequestDeveloperMessage = {
    type: "object",
    properties: { content: { type: "string" } },
    required: ["content"],
    allOf: [{ $ref: "#/definitions/ChatRequestMessage" }],
    "x-ms-discriminator-value": "developer",
  } as never;
  // User content is untyped: a string or an array of content items.
  s.ChatRequestUserMessage!.properties.content = {
    oneOf: [{ type: "string" }, { type: "array", items: { $ref: "#/definitions/ChatMessageContentItem" } }],
  };
  // Assistant content may be null beside tool_calls (the spec's own AudioModality example sends null).
  s.ChatRequestAssistantMessage!.properties.content = { type: "string", "x-nullable": true };
  // input_audio items put {data, format} under `input_audio`; the spec declares a bare `format`.
  s.ChatMessageInputAudioContentItem!.properties = { input_audio: { $ref: "#/definitions/ChatMessageInputAudio" } };
  s.ChatMessageInputAudioContentItem!.required = ["input_audio"];
  // The embedding is "an array of floats, or a base64 encoded string" by its own description; the type says array only.
  s.EmbeddingItem!.properties.embedding = {
    oneOf: [{ type: "array", items: { type: "number", format: "float" } }, { type: "string" }],
  };
  // tool_choice is untyped: a preset string or a named function choice.
  s.ChatCompletionsOptions!.properties.tool_choice = {
    oneOf: [
      { $ref: "#/definitions/ChatCompletionsToolChoicePreset" },
      { $ref: "#/definitions/ChatCompletionsNamedToolChoice" },
    ],
  };
}

/** Swagger 2.0 operation -> OpenAPI 3.1 operation (body parameter -> requestBody, schemas under content). */
function convertOperation(op: JsonObject, sharedParameters: JsonObject): JsonObject {
  const parameters: Json[] = [];
  let requestBody: JsonObject | undefined;
  for (const raw of (op.parameters ?? []) as JsonObject[]) {
    const p = (
      typeof raw.$ref === "string" ? sharedParameters[raw.$ref.replace("#/parameters/", "")] : raw
    ) as JsonObject;
    if (p.in === "body") {
      requestBody = { required: p.required ?? false, content: { "application/json": { schema: p.schema! } } };
      continue;
    }
    const { name, in: where, required, ...schema } = p;
    parameters.push({ name: name!, in: where!, required: required ?? false, schema });
  }
  const responses: JsonObject = {};
  for (const [status, res] of Object.entries(op.responses as JsonObject) as [string, JsonObject][]) {
    const headers: JsonObject = {};
    for (const [h, schema] of Object.entries((res.headers ?? {}) as JsonObject)) headers[h] = { schema };
    responses[status] = {
      description: "",
      ...(res.headers ? { headers } : {}),
      content: { "application/json": { schema: res.schema! } },
    };
  }
  return { operationId: op.operationId!, parameters, ...(requestBody ? { requestBody } : {}), responses };
}

/** The pinned Swagger 2.0 Azure spec -> a prose-free OpenAPI 3.1 document with the quirks fixed. */
export function fixAzureSpec(swagger: JsonObject): JsonObject {
  const schemas = structuredClone(swagger.definitions) as JsonObject;
  missingShapes(schemas);
  discriminatedUnions(schemas);
  const paths: JsonObject = {};
  for (const [path, item] of Object.entries(swagger.paths as JsonObject) as [string, JsonObject][]) {
    const converted: JsonObject = {};
    for (const [method, op] of Object.entries(item))
      converted[method] = convertOperation(op as JsonObject, swagger.parameters as JsonObject);
    paths[path] = converted;
  }
  const info = swagger.info as JsonObject;
  return {
    openapi: "3.1.0",
    info: { title: info.title!, version: info.version! },
    ...(stripProse(nullables(moveRefs({ paths, components: { schemas } }))) as JsonObject),
  };
}

/** The `extra-parameters: error` contract at every depth: each object schema that lists its properties
 * and says nothing of others gets `additionalProperties: false`, so a field the Azure schema does not
 * declare inside a message, a content part or a tool is refused by name (`messages[0].foo`). The roots
 * (the request bodies) stay open: their extra parameters are split off by name first, per the header.
 * Free-form objects (`additionalProperties: {}`, such as a tool's JSON-Schema `parameters`) stay free. */
export function closeNestedObjects(
  schemasModule: Record<string, unknown>,
  roots: readonly string[],
): Record<string, unknown> {
  const close = (node: unknown, isRoot: boolean): unknown => {
    if (Array.isArray(node)) return node.map((n) => close(n, false));
    if (node === null || typeof node !== "object") return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      // Property names are names, not schemas; each property's schema is closed in turn.
      out[key] =
        key === "properties" && value !== null && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).map(([name, schema]) => [name, close(schema, false)]))
          : close(value, false);
    }
    if (!isRoot && out.properties !== undefined && out.additionalProperties === undefined)
      out.additionalProperties = false;
    return out;
  };
  return Object.fromEntries(
    Object.entries(schemasModule).map(([name, schema]) => [name, close(schema, roots.includes(name))]),
  );
}
