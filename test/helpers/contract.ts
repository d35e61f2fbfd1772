// Asserts that a gateway response body validates against the generated Azure or OpenAI schema.
import * as assert from "uvu/assert";
import type { ValidateFunction } from "ajv";
import type { Ajv2020 } from "ajv/dist/2020.js";
import * as v20250401 from "../../generated/azure/2025-04-01/schemas.gen.ts";
import * as v20250501 from "../../generated/azure/2025-05-01/schemas.gen.ts";
import { schemas as openaiSchemas } from "../../generated/openai/schemas.gen.ts";
import { createAzureAjv, createOpenAIAjv } from "../../src/core/validate/ajv.ts";

type Contract = "2025-04-01" | "2025-05-01";
const MODULES: Record<Contract, Record<string, unknown>> = { "2025-04-01": v20250401, "2025-05-01": v20250501 };
const ajvs = new Map<Contract, Ajv2020>();

/** Compiles the named Azure schema (e.g. `ChatCompletions`) of a contract version at run time. */
export function compileAzureSchema(contract: Contract, schema: string): ValidateFunction {
  let ajv = ajvs.get(contract);
  if (!ajv) ajvs.set(contract, (ajv = createAzureAjv(MODULES[contract], `azure-${contract}`)));
  // Spec names with dots (`Azure.Core.Foundations.ErrorResponse`) are registered as their export name
  // unless some $ref uses the dotted form.
  const key = ajv.getSchema(`azure-${contract}#/components/schemas/${schema}`) ? schema : schema.replace(/\./g, "_");
  return ajv.compile({ $ref: `azure-${contract}#/components/schemas/${key}` });
}

const cache = new Map<string, ValidateFunction>();

export function assertAzureSchema(schema: string, body: unknown, contract: Contract = "2025-05-01"): void {
  const key = `${contract}:${schema}`;
  let validate = cache.get(key);
  if (!validate) cache.set(key, (validate = compileAzureSchema(contract, schema)));
  if (!validate(body))
    assert.unreachable(
      `${schema} violated: ${JSON.stringify(validate.errors?.slice(0, 3))}\nbody: ${JSON.stringify(body).slice(0, 500)}`,
    );
}

let openaiAjv: Ajv2020 | undefined;
const openaiCache = new Map<string, ValidateFunction>();

/** Asserts a body (or stream event) validates against the named schema of the pinned OpenAI spec. */
export function assertOpenAISchema(schema: string, body: unknown): void {
  let validate = openaiCache.get(schema);
  if (!validate) {
    openaiAjv ??= createOpenAIAjv(openaiSchemas, "openai");
    openaiCache.set(schema, (validate = openaiAjv.compile({ $ref: `openai#/components/schemas/${schema}` })));
  }
  if (!validate(body))
    assert.unreachable(
      `OpenAI ${schema} violated: ${JSON.stringify(validate.errors?.slice(0, 3))}\nbody: ${JSON.stringify(body).slice(0, 500)}`,
    );
}
