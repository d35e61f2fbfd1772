// Shrinks an OpenAPI document to the operations the gateway uses and drops prose, so generated/
// holds shapes only. Pure functions over plain JSON; no I/O.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Keys that carry prose or tooling metadata, never shape. */
const PROSE_KEYS = new Set([
  "description",
  "summary",
  "title",
  "example",
  "examples",
  "externalDocs",
  "x-ms-examples",
  "x-ms-client-name",
  "x-ms-identifiers",
  "x-ms-enum",
  "x-ms-parameter-location",
  "x-oaiMeta",
  "x-oaiExpandable",
  "x-oaiTypeLabel",
  "x-codeSamples",
  "readOnly",
]);
const isProseKey = (key: string) => PROSE_KEYS.has(key) || key.startsWith("x-stainless");
/** Keys whose children are names chosen by the spec author (a property called `description` is shape). */
const NAME_MAPS = new Set([
  "properties",
  "patternProperties",
  "schemas",
  "paths",
  "responses",
  "headers",
  "content",
  "mapping",
  "definitions",
  "parameters",
  "requestBodies",
  "securitySchemes",
  "components",
]);

export function stripProse<T extends Json>(node: T, parentKey = ""): T {
  if (Array.isArray(node)) return node.map((item) => stripProse(item)) as T;
  if (node === null || typeof node !== "object") return node;
  const out: JsonObject = {};
  const keepNames = NAME_MAPS.has(parentKey);
  for (const [key, value] of Object.entries(node)) {
    if (!keepNames && isProseKey(key)) continue;
    out[key] = stripProse(value, keepNames ? "" : key);
  }
  return out as T;
}

/** Every component (`kind/name`, e.g. `schemas/Error`) reachable by `$ref` from `roots`, in first-seen order. */
export function reachableComponents(doc: JsonObject, roots: Json[]): string[] {
  const components = (doc.components ?? {}) as Record<string, JsonObject>;
  const seen = new Set<string>();
  const visit = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    for (const [key, value] of Object.entries(node)) {
      if (key !== "$ref" || typeof value !== "string") {
        visit(value);
        continue;
      }
      const id = value.replace("#/components/", "");
      if (seen.has(id)) continue;
      const [kind, name] = id.split("/") as [string, string];
      const target = components[kind]?.[name];
      if (target === undefined) throw new Error(`unresolved $ref ${value}`);
      seen.add(id);
      visit(target);
    }
  };
  roots.forEach(visit);
  return [...seen];
}

/** Keeps the listed operations (path -> methods), the components they reach, and `extraSchemas`. */
export function pruneOpenApi(doc: JsonObject, keep: Record<string, string[]>, extraSchemas: string[] = []): JsonObject {
  const paths: JsonObject = {};
  for (const [path, methods] of Object.entries(keep)) {
    const item = (doc.paths as JsonObject)[path] as JsonObject | undefined;
    if (!item) throw new Error(`path ${path} not in spec`);
    const kept: JsonObject = {};
    for (const method of methods) {
      if (!item[method]) throw new Error(`${method.toUpperCase()} ${path} not in spec`);
      kept[method] = item[method]!;
    }
    paths[path] = kept;
  }
  const extraRefs = extraSchemas.map((name) => ({ $ref: `#/components/schemas/${name}` }));
  const reached = new Set(reachableComponents(doc, [paths, ...extraRefs]));
  const components: Record<string, JsonObject> = {};
  // Keep the spec's own order, so the output does not depend on traversal order.
  for (const [kind, entries] of Object.entries(doc.components as Record<string, JsonObject>)) {
    for (const [name, value] of Object.entries(entries)) {
      if (reached.has(`${kind}/${name}`)) (components[kind] ??= {})[name] = value;
    }
  }
  const info = doc.info as JsonObject;
  return {
    openapi: doc.openapi!,
    info: { title: info.title!, version: info.version! },
    ...stripProse({ paths, components }),
  };
}
