// Per operation and contract version: the request validator (emitted ahead of time by `npm run generate`
// as standalone Ajv code) and the declared top-level keys.
import type { ValidateFunction } from "ajv";
import * as v20250401 from "../../../../generated/azure/2025-04-01/validators.gen.js";
import * as v20250501 from "../../../../generated/azure/2025-05-01/validators.gen.js";
import * as strict20250401 from "../../../../generated/azure/2025-04-01/validators-strict.gen.js";
import * as strict20250501 from "../../../../generated/azure/2025-05-01/validators-strict.gen.js";
import { declaredKeys as keys20250401 } from "../../../../generated/azure/2025-04-01/declared-keys.gen.ts";
import { declaredKeys as keys20250501 } from "../../../../generated/azure/2025-05-01/declared-keys.gen.ts";
import { API_VERSIONS, type ContractVersion } from "./api-version.ts";

export type AzureOperationSchema = keyof typeof v20250501;

const VALIDATORS: Record<ContractVersion, Record<AzureOperationSchema, ValidateFunction>> = {
  "2025-04-01": v20250401,
  "2025-05-01": v20250501,
};
/** The same bodies with nested objects closed (scripts/fix-azure-spec.ts closeNestedObjects). */
const STRICT_VALIDATORS: Record<ContractVersion, Record<AzureOperationSchema, ValidateFunction>> = {
  "2025-04-01": strict20250401,
  "2025-05-01": strict20250501,
};
/** Top-level keys each body declares: everything else is an extra parameter. */
const DECLARED: Record<ContractVersion, Record<AzureOperationSchema, readonly string[]>> = {
  "2025-04-01": keys20250401,
  "2025-05-01": keys20250501,
};

export interface OperationContract {
  validate: ValidateFunction;
  /** For `extra-parameters: error`: a nested field the schema does not declare fails, by name. */
  validateStrict: ValidateFunction;
  known: ReadonlySet<string>;
}

export type OperationContracts = Readonly<Record<ContractVersion, OperationContract>>;

export function createOperationContracts(schema: AzureOperationSchema): OperationContracts {
  const contracts = {} as Record<ContractVersion, OperationContract>;
  for (const version of new Set(Object.values(API_VERSIONS))) {
    contracts[version] = {
      validate: VALIDATORS[version][schema],
      validateStrict: STRICT_VALIDATORS[version][schema],
      known: new Set(DECLARED[version][schema]),
    };
  }
  return Object.freeze(contracts);
}
