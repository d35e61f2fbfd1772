// The checks every Azure POST shares, in Azure's order: api-version, the extra-parameters header, the
// body against the contract of that api-version, then the extras split off. Runs once, before any
// upstream call. Undeclared fields follow the header at every depth: top-level ones are split off by
// name (error / drop / pass-through); nested ones (`messages[0].foo`) are refused by name under
// `error` (the default) and dropped under `drop` and `pass-through`, which forwards top-level
// parameters only: the mappers build each message, part and tool from its declared fields.
import { GatewayError } from "../../../core/errors.ts";
import { checkApiVersion } from "./api-version.ts";
import { assertValid } from "../../../core/validate/bodies.ts";
import { parseExtraParameters, splitExtras } from "./extra-parameters.ts";
import type { OperationContracts } from "./operations.ts";

export interface AzureRequestInput {
  apiVersion: string | string[] | undefined;
  extraParameters: string | string[] | undefined;
  body: unknown;
}

export interface CheckedAzureRequest<T> {
  apiVersion: string;
  body: T;
  extras: Record<string, unknown>;
}

export function checkAzureRequest<T extends Record<string, unknown>>(
  input: AzureRequestInput,
  contracts: OperationContracts,
): CheckedAzureRequest<T> {
  const { apiVersion, contract } = checkApiVersion(input.apiVersion);
  const mode = parseExtraParameters(input.extraParameters);
  const body = input.body;
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new GatewayError("InvalidRequestBody", "The request body must be a JSON object.");
  }
  const { validate, validateStrict, known } = contracts[contract];
  // Extras are judged before the schema, so an unknown key is reported as such and not as a type error.
  const { known: declared, extras } = splitExtras(body as Record<string, unknown>, known, mode);
  assertValid<T>(mode === "error" ? validateStrict : validate, declared);
  return { apiVersion, body: declared, extras };
}
