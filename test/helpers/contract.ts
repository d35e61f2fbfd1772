// Asserts that a gateway response body validates against the generated Azure schema.
import * as assert from "uvu/assert";
import type { ValidateFunction } from "ajv";
import { compileAzureSchema } from "../../src/validate/bodies.ts";

const cache = new Map<string, ValidateFunction>();

export function assertAzureSchema(schema: string, body: unknown, contract: "2025-04-01" | "2025-05-01" = "2025-05-01"): void {
  const key = `${contract}:${schema}`;
  let validate = cache.get(key);
  if (!validate) cache.set(key, (validate = compileAzureSchema(contract, schema)));
  if (!validate(body)) assert.unreachable(`${schema} violated: ${JSON.stringify(validate.errors?.slice(0, 3))}\nbody: ${JSON.stringify(body).slice(0, 500)}`);
}
