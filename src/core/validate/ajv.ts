// The one Ajv set-up for the pinned contracts (Azure's and OpenAI's), used to emit the standalone
// validators at `npm run generate` (scripts/gen-types.ts) and to compile any schema at run time in tests.
import { Ajv2020, type Options } from "ajv/dist/2020.js";
import { _ } from "ajv/dist/compile/codegen/index.js";

/** hey-api names the export of schema `A.B` as `A_BSchema`. */
export const exportName = (schema: string) => `${schema.replace(/\./g, "_")}Schema`;

/** Ajv's discriminator keyword rejects `mapping` (the oneOf members state their tag values themselves)
 * and reads the tag without checking the instance is an object, so `type: object` goes beside it. */
function forAjv(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(forAjv);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) if (key !== "mapping") out[key] = forAjv(value);
  if ("discriminator" in out && !("type" in out)) out.type = "object";
  return out;
}

function collectRefs(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => collectRefs(n, into));
  else if (node !== null && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") into.add(value.replace("#/components/schemas/", ""));
      else collectRefs(value, into);
    }
  }
  return into;
}

const INT32 = 2 ** 31;
const isInt32 = (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32;
const isUnixTime = (n: number) => Number.isInteger(n);
/** The same three checks as source text, for standalone code (it cannot reference the functions above). */
const FORMATS_SOURCE = _`{int32: {type: "number", validate: (n) => Number.isInteger(n) && n >= -${INT32} && n < ${INT32}}, int64: {type: "number", validate: Number.isSafeInteger}, unixtime: {type: "number", validate: Number.isInteger}}`;

function createAjv(id: string, schemas: Record<string, unknown>, options: Options, standalone: boolean): Ajv2020 {
  if (standalone) options.code = { source: true, esm: true, formats: FORMATS_SOURCE, lines: true };
  const ajv = new Ajv2020(options);
  ajv.addFormat("int32", { type: "number", validate: isInt32 });
  ajv.addFormat("int64", { type: "number", validate: Number.isSafeInteger });
  ajv.addFormat("unixtime", { type: "number", validate: isUnixTime });
  for (const format of ["float", "double", "uuid", "uri", "date", "date-time", "binary"]) ajv.addFormat(format, true);
  ajv.addSchema({ $id: id, components: { schemas } });
  return ajv;
}

/** An Ajv holding every schema of one generated schemas module under `$id`; `standalone` makes it keep
 * source for ajv/dist/standalone. */
export function createAzureAjv(schemasModule: Record<string, unknown>, id: string, standalone = false): Ajv2020 {
  const schemas: Record<string, unknown> = {};
  const names = [
    ...collectRefs(Object.values(schemasModule), new Set()),
    ...Object.keys(schemasModule).map((n) => n.replace(/Schema$/, "")),
  ];
  // Keyed by spec name so `$ref`s resolve (dotted names are also reachable by their export name).
  for (const name of names) {
    const value = schemasModule[exportName(name)] ?? schemasModule[`${name}Schema`];
    if (value === undefined) throw new Error(`${id}: no export for schema ${name}`);
    schemas[name] = forAjv(value);
  }
  return createAjv(id, schemas, { strict: false, allErrors: false, discriminator: true }, standalone);
}

/** An Ajv holding the OpenAI components (generated/openai/schemas.gen.ts) under `$id`. The spec's
 * discriminators have no mapping and some members do not state their tag, so oneOf is checked as such. */
export function createOpenAIAjv(schemas: Record<string, unknown>, id: string, standalone = false): Ajv2020 {
  return createAjv(id, schemas, { strict: false, allErrors: false, discriminator: false }, standalone);
}
