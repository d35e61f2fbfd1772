// Per operation and contract version: the compiled body validator and the declared top-level keys.
// Built once at start-up.
import type { ValidateFunction } from "ajv";
import { API_VERSIONS, type ContractVersion } from "./api-version.ts";
import { compileAzureSchema, declaredKeys } from "./bodies.ts";

export type AzureOperationSchema = "ChatCompletionsOptions" | "EmbeddingsOptions" | "ImageEmbeddingsOptions";

export interface OperationContract {
  validate: ValidateFunction;
  known: ReadonlySet<string>;
}

export type OperationContracts = Readonly<Record<ContractVersion, OperationContract>>;

export function createOperationContracts(schema: AzureOperationSchema): OperationContracts {
  const contracts = {} as Record<ContractVersion, OperationContract>;
  for (const version of new Set(Object.values(API_VERSIONS))) {
    contracts[version] = { validate: compileAzureSchema(version, schema), known: declaredKeys(version, schema) };
  }
  return Object.freeze(contracts);
}
