// Validators of Azure bodies, compiled once at start-up from the JSON schemas generated from each
// api-version's spec (generated/azure/<version>/schemas.gen.ts). Ajv over JSON Schema 2020-12 was chosen
// over hey-api's zod plugin: the same schemas also validate responses in tests, compiled validators are
// fast on the hot path, and its errors carry the instance path we report as `target`.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import * as v20250401 from "../../generated/azure/2025-04-01/schemas.gen.ts";
import * as v20250501 from "../../generated/azure/2025-05-01/schemas.gen.ts";
import { GatewayError } from "../http/errors.ts";
import type { ContractVersion } from "./api-version.ts";

const MODULES: Record<ContractVersion, Record<string, unknown>> = { "2025-04-01": v20250401, "2025-05-01": v20250501 };

/** hey-api names the export of schema `A.B` as `A_BSchema`. */
const exportName = (schema: string) => `${schema.replace(/\./g, "_")}Schema`;

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
function createAjv(contract: ContractVersion): Ajv2020 {
  const module = MODULES[contract];
  const schemas: Record<string, unknown> = {};
  const pending = [...collectRefs(Object.values(module), new Set())];
  // Every schema any export refers to, keyed by its spec name so `$ref`s resolve.
  for (const name of Object.keys(module)) pending.push(name.replace(/Schema$/, ""));
  for (const name of pending) {
    const value = module[exportName(name)] ?? module[`${name}Schema`];
    if (value === undefined) throw new Error(`generated/azure/${contract}: no export for schema ${name}`);
    schemas[name] = forAjv(value);
  }
  const ajv = new Ajv2020({ strict: false, allErrors: false, discriminator: true });
  ajv.addFormat("int32", { type: "number", validate: (n: number) => Number.isInteger(n) && n >= -INT32 && n < INT32 });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isSafeInteger(n) });
  ajv.addFormat("unixtime", { type: "number", validate: (n: number) => Number.isInteger(n) });
  for (const format of ["float", "double", "uuid", "uri", "date-time"]) ajv.addFormat(format, true);
  ajv.addSchema({ $id: `azure-${contract}`, components: { schemas } });
  return ajv;
}

const ajvs = new Map<ContractVersion, Ajv2020>();
/** A compiled validator of the named Azure schema (e.g. `ChatCompletionsOptions`) for one contract. */
export function compileAzureSchema(contract: ContractVersion, schema: string): ValidateFunction {
  let ajv = ajvs.get(contract);
  if (!ajv) ajvs.set(contract, (ajv = createAjv(contract)));
  // Spec names with dots (`Azure.Core.Foundations.ErrorResponse`) are registered as their export name
  // unless some $ref uses the dotted form.
  const key = ajv.getSchema(`azure-${contract}#/components/schemas/${schema}`) ? schema : schema.replace(/\./g, "_");
  return ajv.compile({ $ref: `azure-${contract}#/components/schemas/${key}` });
}

/** Top-level keys the schema declares: everything else is an extra parameter. */
export function declaredKeys(contract: ContractVersion, schema: string): ReadonlySet<string> {
  const value = MODULES[contract][exportName(schema)] as { properties?: Record<string, unknown> } | undefined;
  return new Set(Object.keys(value?.properties ?? {}));
}

/** `/messages/0/content` -> `messages[0].content`. */
export function toFieldPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

function describe(error: ErrorObject): { target: string; message: string } {
  const base = toFieldPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "required": {
      const target = base ? `${base}.${String(params.missingProperty)}` : String(params.missingProperty);
      return { target, message: `'${target}' is required.` };
    }
    case "discriminator": {
      const target = base ? `${base}.${String(params.tag)}` : String(params.tag);
      return { target, message: `'${target}' is missing or has a value that is not allowed here.` };
    }
    case "enum":
      return { target: base, message: `'${base}' must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}.` };
    default:
      return { target: base, message: base ? `'${base}' ${error.message ?? "is invalid"}.` : `The request body ${error.message ?? "is invalid"}.` };
  }
}

/** The most specific of Ajv's errors: inside a oneOf, the branch that got furthest explains best. */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  return errors.reduce((best, e) => (e.instancePath.length > best.instancePath.length && e.keyword !== "oneOf" ? e : best));
}

/** Throws InvalidRequestBody naming the offending field, or narrows `body` to the schema's type. */
export function assertValid<T>(validate: ValidateFunction, body: unknown): asserts body is T {
  if (validate(body)) return;
  const { target, message } = describe(mostSpecific(validate.errors ?? []));
  throw new GatewayError("InvalidRequestBody", message, target ? { target } : {});
}
