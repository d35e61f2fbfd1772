// Validation of Azure bodies against the JSON schemas generated from each api-version's spec
// (generated/azure/<version>/schemas.gen.ts). Ajv over JSON Schema 2020-12 was chosen over hey-api's zod
// plugin: the same schemas validate responses in tests, the request validators are emitted as standalone
// code at `npm run generate` (nothing compiles at start-up, and neither Ajv's compiler nor the schemas
// modules are loaded: ~14 MB of RSS), and its errors carry the instance path we report as `target`.
import type { ErrorObject, ValidateFunction } from "ajv";
import { GatewayError } from "../errors.ts";

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
      return {
        target: base,
        message: `'${base}' must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}.`,
      };
    default:
      return {
        target: base,
        message: base
          ? `'${base}' ${error.message ?? "is invalid"}.`
          : `The request body ${error.message ?? "is invalid"}.`,
      };
  }
}

/** Keywords that only say a combination failed; the error beneath them names the field. */
const COMBINATORS = new Set(["oneOf", "anyOf", "allOf", "if", "not"]);

/** The most specific of Ajv's errors: of the branches tried, the one that got furthest explains best
 * (the first of equals: a tag dispatch puts the matching member first). */
function mostSpecific(errors: ErrorObject[]): ErrorObject {
  const named = errors.filter((e) => !COMBINATORS.has(e.keyword));
  return (named.length ? named : errors).reduce((best, e) =>
    e.instancePath.length > best.instancePath.length ? e : best,
  );
}

/** Throws InvalidRequestBody naming the offending field, or narrows `body` to the schema's type. A field
 * a closed (strict) schema does not declare is ExtraParametersNotAllowed, named by its path. */
export function assertValid<T>(validate: ValidateFunction, body: unknown): asserts body is T {
  if (validate(body)) return;
  const errors = validate.errors ?? [];
  const extra = errors.find((e) => e.keyword === "additionalProperties");
  if (extra) {
    const base = toFieldPath(extra.instancePath);
    const name = String((extra.params as { additionalProperty: unknown }).additionalProperty).slice(0, 64);
    const target = base ? `${base}.${name}` : name;
    throw new GatewayError(
      "ExtraParametersNotAllowed",
      `'${target}' is not a field the schema declares here; it is not allowed when the 'extra-parameters' header is absent or set to 'error'. Remove it, or set the header to 'drop' to have it ignored.`,
      { target },
    );
  }
  const { target, message } = describe(mostSpecific(errors));
  throw new GatewayError("InvalidRequestBody", message, target ? { target } : {});
}
