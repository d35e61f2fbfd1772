// `api-version` (A#/parameters/Azure.Core.Foundations.ApiVersionParameter): required; no enum in the spec,
// so the published ModelInference versions are accepted and each is tied to the generated contract
// that describes it best.
import { GatewayError } from "../../../core/errors.ts";

/** Generated Azure contracts (generated/azure/<version>). */
export type ContractVersion = "2025-04-01" | "2025-05-01";

/** Every published version -> the contract it is validated against. Versions before 2025-05-01 lack
 * `user_security_context`; 2025-05-01 and the previews after it have it. */
export const API_VERSIONS: Readonly<Record<string, ContractVersion>> = Object.freeze({
  "2024-04-01-preview": "2025-04-01",
  "2024-05-01-preview": "2025-04-01",
  "2025-02-01-preview": "2025-04-01",
  "2025-04-01": "2025-04-01",
  "2025-05-01": "2025-05-01",
  "2025-05-01-preview": "2025-05-01",
  "2025-05-15-preview": "2025-05-01",
});

const SUPPORTED = Object.keys(API_VERSIONS).join(", ");

export function checkApiVersion(value: string | string[] | undefined): {
  apiVersion: string;
  contract: ContractVersion;
} {
  if (value === undefined || value === "") {
    throw new GatewayError(
      "MissingApiVersionParameter",
      `The api-version query parameter (?api-version=) is required for all requests. The supported api-versions are '${SUPPORTED}'.`,
    );
  }
  const apiVersion = Array.isArray(value) ? value[0]! : value;
  const contract = Object.hasOwn(API_VERSIONS, apiVersion) ? API_VERSIONS[apiVersion] : undefined;
  if (contract === undefined) {
    throw new GatewayError(
      "UnsupportedApiVersionValue",
      `Unsupported api-version '${apiVersion.slice(0, 64)}'. The supported api-versions are '${SUPPORTED}'.`,
    );
  }
  return { apiVersion, contract };
}
