// Where the OpenAI spec is stricter than the OpenAI service and the engines, corrected once, here, for the
// types and the validators alike. The rule (docs/dialects.md): what the service and the engines
// accept, the gateway accepts. Each correction names its reason; `npm run generate` applies them.
import type { JsonObject } from "./prune-spec.ts";

type Json = JsonObject[string];

/** Fields the spec marks required that the API defaults when they are left out. */
export const DEFAULTED_FIELDS: ReadonlyArray<{ schema: string; field: string; reason: string }> = [
  {
    schema: "FunctionTool",
    field: "strict",
    reason: "the API defaults it (true on Responses); the AI SDK, the Agents SDK and LangChain send tools without it",
  },
  {
    schema: "FunctionTool",
    field: "parameters",
    reason: "a function without arguments; the API takes a tool without parameters",
  },
  {
    schema: "InputImageContent",
    field: "detail",
    reason: "the API defaults it to 'auto'; the AI SDK and LangChain send image parts without it",
  },
];

/** Fields the spec types without null that the service answers null (and the Open Responses specification
 * requires, null when unset). */
export const NULLABLE_FIELDS: ReadonlyArray<{ schema: string; field: string; reason: string }> = [
  {
    schema: "ModelResponseProperties",
    field: "user",
    reason: "a Response carries `user: null` when the request gave none (Open Responses ResponseResource requires it)",
  },
  {
    schema: "Response",
    field: "usage",
    reason: "a Response not yet complete (queued, in progress) has `usage: null`, as the service answers",
  },
];

/** Numeric bounds the service has but the engines do not (the Azure OpenAI routes keep theirs in
 * dialects/azure-openai/body-rules.ts). */
export const ENGINE_FREE_BOUNDS: ReadonlyArray<{ schema: string; field: string; keyword: string; reason: string }> = [
  {
    schema: "CreateResponse",
    field: "max_output_tokens",
    keyword: "minimum",
    reason: "OpenAI's floor of 16; vLLM, SGLang and llama.cpp take any positive count",
  },
];

/** Metadata's bounds, which the spec states in prose only ("Set of 16 key-value pairs… Keys are strings
 * with a maximum length of 64 characters. Values are strings with a maximum length of 512 characters"): the
 * service refuses more, and the gateway stores what it is given (conversations, stored responses), so an
 * unbounded map would be unbounded state. */
export const METADATA_BOUNDS = { maxProperties: 16, keyMaxLength: 64, valueMaxLength: 512 } as const;

function boundMetadata(schemas: Record<string, JsonObject>): void {
  const map = ((schemas.Metadata?.anyOf as JsonObject[] | undefined) ?? []).find((m) => m.type === "object");
  const values = map?.additionalProperties as JsonObject | undefined;
  if (!map || values?.type !== "string")
    throw new Error("spec correction: Metadata is no longer a map of strings in the pinned spec; review the bounds");
  map.maxProperties = METADATA_BOUNDS.maxProperties;
  map.propertyNames = { maxLength: METADATA_BOUNDS.keyMaxLength };
  map.additionalProperties = { ...values, maxLength: METADATA_BOUNDS.valueMaxLength };
}

/** The named property schema of `schemaName`, looked up in its own `properties` and its `allOf` parts. */
function propertyOf(schemas: Record<string, JsonObject>, schemaName: string, field: string): JsonObject {
  const search = (node: JsonObject | undefined): JsonObject | undefined => {
    if (!node) return undefined;
    const own = (node.properties as Record<string, JsonObject> | undefined)?.[field];
    if (own) return own;
    for (const part of (node.allOf as JsonObject[] | undefined) ?? []) {
      const found = search(part.$ref ? schemas[(part.$ref as string).replace("#/components/schemas/", "")] : part);
      if (found) return found;
    }
    return undefined;
  };
  const found = search(schemas[schemaName]);
  if (!found)
    throw new Error(`spec correction: ${schemaName}.${field} is not in the pinned spec; review the correction`);
  return found;
}

/** Removes `keyword` wherever it sits in a property schema (beside `type`, or in a nullable `anyOf` member). */
function dropKeyword(node: Json, keyword: string): number {
  if (Array.isArray(node)) return node.reduce((n: number, item) => n + dropKeyword(item, keyword), 0);
  if (node === null || typeof node !== "object") return 0;
  let dropped = keyword in node ? 1 : 0;
  delete node[keyword];
  for (const key of ["anyOf", "oneOf", "allOf"]) if (node[key]) dropped += dropKeyword(node[key], keyword);
  return dropped;
}

/** The corrections, applied to a copy of the pruned document:
 * - `oneOf` becomes `anyOf`: the service takes a value that fits two branches (a Responses message whose
 *   content is a list of parts is both an EasyInputMessage and an InputMessage; the spec's oneOf refuses it);
 * - DEFAULTED_FIELDS become optional; ENGINE_FREE_BOUNDS are dropped; NULLABLE_FIELDS take null. */
export function correctOpenAISpec(doc: JsonObject): JsonObject {
  const toAnyOf = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(toAnyOf);
    if (node === null || typeof node !== "object") return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node))
      out[key === "oneOf" && !("anyOf" in node) ? "anyOf" : key] = toAnyOf(value);
    return out;
  };
  const corrected = toAnyOf(structuredClone(doc)) as JsonObject;
  const schemas = (corrected.components as JsonObject).schemas as Record<string, JsonObject>;
  for (const { schema, field } of DEFAULTED_FIELDS) {
    const required = schemas[schema]?.required as string[] | undefined;
    if (!required?.includes(field))
      throw new Error(
        `spec correction: ${schema}.${field} is no longer required in the pinned spec; remove the correction`,
      );
    schemas[schema]!.required = required.filter((name) => name !== field);
  }
  for (const { schema, field, keyword } of ENGINE_FREE_BOUNDS) {
    if (dropKeyword(propertyOf(schemas, schema, field), keyword) === 0)
      throw new Error(`spec correction: ${schema}.${field} has no ${keyword}; remove the correction`);
  }
  for (const { schema, field } of NULLABLE_FIELDS) {
    const property = propertyOf(schemas, schema, field);
    if (property.anyOf || property.type === "null")
      throw new Error(`spec correction: ${schema}.${field} already takes null; remove the correction`);
    const { description, ...typed } = property;
    for (const key of Object.keys(property)) delete property[key];
    Object.assign(property, { anyOf: [typed, { type: "null" }] }, description ? { description } : {});
  }
  boundMetadata(schemas);
  return corrected;
}

/** The property that tells a union's members apart: the spec's discriminator, else `type`. */
const tagOfUnion = (node: JsonObject): string =>
  ((node.discriminator as JsonObject | undefined)?.propertyName as string | undefined) ?? "type";

interface Member {
  schema: JsonObject;
  /** The tag values it takes (empty: untagged) and whether the tag must be present. */
  tags: string[];
  tagRequired: boolean;
}

/** For validators only (JSON Schema, after toOpenAIJsonSchemas): each union whose members are told apart by a
 * tag is checked as a dispatch on that tag, so
 * - a member whose tag matches is the one checked, and a 400 names its field, never a sibling branch's
 *   ("'tools[0].type' must be one of "computer"" for a function tool without `name`);
 * - a `type` the spec does not know passes to the engine (vLLM's `video_url` and `audio_url` parts, its
 *   `structural_tag` response format, items newer than the pinned spec); a `role` the spec does not know is
 *   still a 400 (messages have a closed set of roles).
 * A union of members wrapping other unions (InputItem holds Item) is dispatched over all of them. */
export function dispatchOnTags(schemas: JsonObject): JsonObject {
  const byRef = (ref: string) => schemas[ref.replace("#/components/schemas/", "")] as JsonObject | undefined;
  const isPureUnion = (node: JsonObject) => Array.isArray(node.anyOf) && !node.properties && !node.allOf;
  const tagSchemaOf = (
    node: JsonObject | undefined,
    tag: string,
    seen = new Set<JsonObject>(),
  ): JsonObject | undefined => {
    if (!node || seen.has(node)) return undefined;
    seen.add(node);
    const own = (node.properties as Record<string, JsonObject> | undefined)?.[tag];
    if (own) return own;
    for (const part of [
      ...((node.allOf as JsonObject[] | undefined) ?? []),
      ...(node.$ref ? [byRef(node.$ref as string)!] : []),
    ]) {
      const found = tagSchemaOf(part, tag, seen);
      if (found) return found;
    }
    return undefined;
  };
  const valuesOf = (tagSchema: JsonObject | undefined): string[] => {
    if (!tagSchema) return [];
    if (typeof tagSchema.const === "string") return [tagSchema.const];
    if (Array.isArray(tagSchema.enum)) return tagSchema.enum.filter((v): v is string => typeof v === "string");
    return ((tagSchema.anyOf as JsonObject[] | undefined) ?? []).flatMap(valuesOf); // nullable: anyOf [enum, null]
  };
  const isRequired = (node: JsonObject | undefined, tag: string): boolean => {
    if (!node) return false;
    if ((node.required as string[] | undefined)?.includes(tag)) return true;
    return [
      ...((node.allOf as JsonObject[] | undefined) ?? []),
      ...(node.$ref ? [byRef(node.$ref as string)!] : []),
    ].some((part) => isRequired(part, tag));
  };
  const flatten = (members: JsonObject[], seen: Set<string>): JsonObject[] =>
    members.flatMap((member) => {
      const target = member.$ref ? byRef(member.$ref as string) : undefined;
      if (target && isPureUnion(target) && !seen.has(member.$ref as string)) {
        return flatten(target.anyOf as JsonObject[], new Set([...seen, member.$ref as string]));
      }
      return [member];
    });

  const dispatch = (node: JsonObject): JsonObject | undefined => {
    const tag = tagOfUnion(node);
    const tagsOf = (schema: JsonObject) =>
      valuesOf(tagSchemaOf(schema.$ref ? byRef(schema.$ref as string) : schema, tag));
    // A union none of whose own members is tagged (`anyOf [$ref Tool, null]`) leaves it to the union it names.
    if (!(node.anyOf as JsonObject[]).some((member) => tagsOf(member).length > 0)) return undefined;
    const members: Member[] = flatten(node.anyOf as JsonObject[], new Set()).map((schema) => {
      const tags = tagsOf(schema);
      return {
        schema,
        tags,
        tagRequired: tags.length > 0 && isRequired(schema.$ref ? byRef(schema.$ref as string) : schema, tag),
      };
    });
    const known = [...new Set(members.flatMap((m) => m.tags))];
    if (known.length < 2) return undefined; // nothing to tell apart: the union stays as it is
    const open = tag === "type";
    const { anyOf: _members, discriminator: _discriminator, ...rest } = node;
    const hasTag = (values: string[]): JsonObject => ({
      type: "object",
      required: [tag],
      properties: { [tag]: values.length === 1 ? { const: values[0]! } : { enum: values } },
    });
    const branches = known.map((value): JsonObject => {
      const group = members.filter((m) => m.tags.includes(value)).map((m) => m.schema);
      return { if: hasTag([value]), then: group.length === 1 ? group[0]! : { anyOf: group } };
    });
    // No tag, or one the spec does not know: the untagged members, those whose tag is optional, and
    // (open unions) any object with a `type` of its own.
    const untagged = members.filter((m) => !m.tagRequired).map((m) => m.schema);
    const unknownTag: JsonObject[] = open
      ? [{ type: "object", required: [tag], properties: { [tag]: { type: "string", not: { enum: known } } } }]
      : [];
    const fallback = [...untagged, ...unknownTag];
    const otherwise =
      fallback.length === 0 ? hasTag(known) : fallback.length === 1 ? fallback[0]! : { anyOf: fallback };
    return { ...rest, if: hasTag(known), then: { allOf: branches }, else: otherwise };
  };

  const visit = (node: Json): Json => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== "object") return node;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) out[key] = visit(value);
    return Array.isArray(out.anyOf) ? ((dispatch(out) as JsonObject | undefined) ?? out) : out;
  };
  return visit(schemas) as JsonObject;
}
